import type * as z from "zod";
import type { Config } from "../config";
import { KeywardError } from "../errors";
import { generateKey, hashKey, randomId } from "../keys/key-format";
import type { LedgerKey } from "../ledger/key-store";
import { normaliseAllowList } from "../net/ip-allow-list";
import type { createKeyBody } from "./schemas";

/** The schema has checked every entry; this stores them normalised (an empty list means any address). */
function allowedIpsOf(entries: string[] | undefined): string[] | null {
  if (entries === undefined || entries.length === 0) return null;
  const normal = normaliseAllowList(entries);
  if (!normal.ok)
    throw new KeywardError("INVALID_REQUEST", `allowedIps.${normal.index}: must be an IPv4 or IPv6 address or CIDR`, { field: `allowedIps.${normal.index}` });
  return normal.list;
}
/**
 * A new key from a create call's body (checked by its schema): the secret, shown
 * once, and the ledger's record of it at version 1. A past `expiresAt` is a 400.
 */
export async function newKey(
  body: z.infer<typeof createKeyBody>,
  context: { now: number; by: string; config: Pick<Config, "keyTypePrefix" | "defaultLimit" | "defaultWindowSeconds"> },
): Promise<{ key: string; record: LedgerKey }> {
  const { now, by, config } = context;
  const expiresAt = body.expiresAt === undefined ? null : Date.parse(body.expiresAt);
  if (expiresAt !== null && expiresAt <= now) throw new KeywardError("INVALID_REQUEST", "expiresAt: must be in the future", { field: "expiresAt" });
  const environment = body.environment ?? "live";
  const { key, displayPrefix } = generateKey(config.keyTypePrefix, environment);
  const record: LedgerKey = {
    id: randomId("key"),
    hash: await hashKey(key),
    prefix: displayPrefix,
    label: body.label,
    environment,
    scopes: body.scopes ?? null,
    createdAt: now,
    createdBy: by,
    expiresAt,
    revokedAt: null,
    revokeAt: null,
    disabledAt: null,
    credits:
      body.credits === undefined
        ? null
        : {
            remaining: body.credits.remaining,
            refill: body.credits.refill
              ? {
                  interval: body.credits.refill.interval,
                  amount: body.credits.refill.amount,
                  refillDay: body.credits.refill.interval === "monthly" ? (body.credits.refill.refillDay ?? 1) : null,
                }
              : null,
            refilledAt: now,
            ...(body.credits.alertBelow === undefined ? {} : { alertBelow: body.credits.alertBelow }),
          },
    meta: body.meta ?? null,
    limit: config.defaultLimit,
    windowSeconds: config.defaultWindowSeconds,
    admission: "central",
    version: 1,
    kvVersion: 1,
    allowedIps: allowedIpsOf(body.allowedIps),
    leak: null,
  };
  return { key, record };
}
