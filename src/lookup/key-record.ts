import * as z from "zod";
import { KEY_ID_PATTERN } from "../keys/key-format";

/**
 * The edge index entry for one key, stored in KV under `key:<sha256 hex>`
 * (docs/storage.md). It never holds the key itself. Its security state
 * (status, rateLimit) is a cache of the key guard's: the guard wins.
 */
/** A key's credits as stored (src/guard/credits.ts): balance, refill, last refill instant. */
export const creditsSchema = z.strictObject({
  remaining: z.number().int().min(0),
  refill: z
    .strictObject({ interval: z.enum(["daily", "monthly"]), amount: z.number().int().min(0), refillDay: z.number().int().min(1).max(31).nullable() })
    .nullable(),
  refilledAt: z.number().int(),
  /** The low-balance mark (docs/metering.md); absent: none. */
  alertBelow: z.number().int().min(0).nullable().optional(),
});

export const keyRecordSchema = z
  .object({
    v: z.literal(1),
    id: z.string().regex(KEY_ID_PATTERN),
    org: z.string().min(1).max(128),
    environment: z.enum(["live", "test"]),
    prefix: z.string().min(1).max(64),
    /** null: everything the org may do. */
    scopes: z.array(z.string().min(1).max(128)).max(256).nullable(),
    status: z.enum(["active", "revoked"]),
    /** Epoch milliseconds, or null for a key that never expires. */
    expiresAt: z.number().int().nullable(),
    /** A revocation scheduled for later (rotation grace period), epoch milliseconds. */
    revokeAt: z.number().int().nullable().optional(),
    /** Suspended by an admin (a hint like status: the guard decides). Absent: false. */
    disabled: z.boolean().optional(),
    /** The credits the key was given (the guard holds the live balance). Absent or null: unlimited. */
    credits: creditsSchema.nullable().optional(),
    /** Admin-set metadata for the origin (src/identity/key-meta.ts). Absent or null: none. */
    meta: z.record(z.string(), z.unknown()).nullable().optional(),
    /** admission "local": consuming requests are decided by a lease holder near the caller (src/guard/lease-holder.ts); absent: central. */
    rateLimit: z.object({ limit: z.number().int().min(0), windowSeconds: z.number().int().min(1), admission: z.literal("local").optional() }),
    /** Bumped on every change to the key's security state; the guard ignores older records. */
    version: z.number().int().min(1),
    createdAt: z.number().int(),
    /**
     * Set on the entry of a secret replaced by a roll: when its grace ends (epoch
     * ms). From then the gateway refuses it like a revoked key without asking the
     * guard (which refuses it too, whatever this entry says). Absent: the key's current secret.
     */
    secretValidUntil: z.number().int().optional(),
    /** Normalised CIDRs the key may be used from (CF-Connecting-IP); absent: any address. */
    allowedIps: z.array(z.string().max(64)).max(100).optional(),
  })
  .strict();

export type KeyRecord = z.infer<typeof keyRecordSchema>;

export const kvKeyFor = (hash: string) => `key:${hash}`;
