import { nextRefillAt } from "../guard/credits";
import type { GuardStatus, KeySettings } from "../guard/guard-types";
import { revokedAtAsOf } from "../keys/key-model";
import { leakUrlOrNull } from "../leaks/leak-url";
import type { LedgerKey } from "../ledger/key-store";
import type { KeyRecord } from "../lookup/key-record";
import type { HoldView } from "../metering/holds";

/** How a ledger entry becomes the guard's settings, the KV record, and what admins see. */
export const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());

export function settingsOfLedger(k: LedgerKey): KeySettings {
  return {
    keyId: k.id,
    version: k.version,
    limit: k.limit,
    windowSeconds: k.windowSeconds,
    expiresAt: k.expiresAt,
    revoked: k.revokedAt !== null,
    revokeAt: k.revokeAt,
    disabled: k.disabledAt !== null,
    credits: k.credits,
  };
}

export function recordOfLedger(k: LedgerKey, org: string): KeyRecord {
  return {
    v: 1,
    id: k.id,
    org,
    environment: k.environment,
    prefix: k.prefix,
    scopes: k.scopes,
    status: k.revokedAt !== null ? "revoked" : "active",
    expiresAt: k.expiresAt,
    revokeAt: k.revokeAt,
    disabled: k.disabledAt !== null,
    ...(k.credits !== null ? { credits: k.credits } : {}),
    ...(k.meta !== null ? { meta: k.meta } : {}),
    rateLimit: { limit: k.limit, windowSeconds: k.windowSeconds, ...(k.admission === "local" ? { admission: "local" as const } : {}) },
    version: k.version,
    createdAt: k.createdAt,
    ...(k.allowedIps !== null && k.allowedIps.length > 0 ? { allowedIps: k.allowedIps } : {}),
  };
}

/**
 * What admins see of a key. `guard` (one key's live status) gives the live
 * balance and last use; without it (listings) both come from the ledger, last
 * use as the guard last reported it.
 */
export function view(k: LedgerKey & { lastUsedAt?: number | null }, now: number, guard: GuardStatus | null) {
  const credits = guard ? guard.credits : k.credits === null ? null : { ...k.credits, nextRefillAt: nextRefillAt(k.credits) };
  const revokedAt = revokedAtAsOf(k.revokedAt, k.revokeAt, now);
  return {
    id: k.id,
    prefix: k.prefix,
    label: k.label,
    environment: k.environment,
    scopes: k.scopes,
    // Revoked and expired are final, so they win over a suspension.
    status:
      revokedAt !== null
        ? ("revoked" as const)
        : k.expiresAt !== null && k.expiresAt <= now
          ? ("expired" as const)
          : k.disabledAt !== null
            ? ("disabled" as const)
            : ("active" as const),
    createdAt: iso(k.createdAt) as string,
    createdBy: k.createdBy,
    lastUsedAt: iso(guard?.lastUsedAt ?? k.lastUsedAt ?? null),
    revokedAt: iso(revokedAt),
    revokeAt: revokedAt === null ? iso(k.revokeAt) : null,
    expiresAt: iso(k.expiresAt),
    disabledAt: iso(k.disabledAt),
    credits:
      credits === null
        ? null
        : {
            remaining: credits.remaining,
            refill: credits.refill,
            nextRefillAt: iso(credits.nextRefillAt),
            alertBelow: credits.alertBelow ?? null,
          },
    meta: k.meta,
    rateLimit: { limit: k.limit, windowSeconds: k.windowSeconds, admission: k.admission },
    ...(guard?.limits ? { limits: guard.limits } : {}),
    ...(guard?.holds ? { holds: { open: guard.holds.open.map(holdView), recent: guard.holds.recent.map(holdView) } } : {}),
    allowedIps: k.allowedIps,
    // A URL stored before only http(s) was accepted is shown as none.
    leaked: k.leak === null ? null : { at: iso(k.leak.at) as string, url: leakUrlOrNull(k.leak.url), source: k.leak.source },
  };
}

/** A hold as the admin API shows it (times as RFC 3339). */
const holdView = (h: HoldView) => ({
  requestId: h.id,
  at: iso(h.at) as string,
  reserve: h.reserve,
  expiresAt: iso(h.expiresAt) as string,
  charge: h.charge,
  closedBy: h.closedBy,
  uncharged: h.uncharged,
});
