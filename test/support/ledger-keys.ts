import type { LedgerKey } from "../../src/ledger/org-ledger";

/** The creation time seeded keys count from. */
export const SEEDED_AT = 1_790_000_000_000;

/**
 * A key row for seeding an org ledger directly (many keys without the admin
 * API): id and hash derived from `i`, an active live or test key with the
 * default limit otherwise. Each test overrides what its cases are about.
 */
export function seededKey(i: number, overrides: Partial<LedgerKey> = {}): LedgerKey {
  return {
    id: `key_${i.toString(16).padStart(20, "0")}`,
    hash: i.toString(16).padStart(64, "0"),
    prefix: "sk_live_00000000",
    label: `k${i}`,
    environment: i % 2 === 0 ? "live" : "test",
    scopes: null,
    createdAt: SEEDED_AT,
    createdBy: "user:seed",
    expiresAt: null,
    revokedAt: null,
    revokeAt: null,
    disabledAt: null,
    limit: 60,
    windowSeconds: 60,
    admission: "central",
    version: 1,
    kvVersion: 1,
    allowedIps: null,
    credits: null,
    meta: null,
    leak: null,
    ...overrides,
  };
}
