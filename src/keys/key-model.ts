import type { KeySettings } from "../guard/guard-types";
import type { KeyRecord } from "../lookup/key-record";

/**
 * The key's rules that more than one layer needs, in one place: the gateway, the
 * key guard, the admin API and its views all ask these, never their own copies.
 *
 * Naming: a rate window is `windowSeconds` in every API, record and RPC. Storage
 * columns keep their names (`window_s` in the org ledger, `window_ms` in the key
 * guard; docs/storage.md), since renaming them would need a data migration.
 */

/**
 * Scope names, which are also the character set of user-token permissions
 * (src/authz/user-token.ts): both travel in `X-Keyward-Permissions`, separated by
 * spaces, so neither may hold a space or anything an origin's split would read
 * differently.
 */
export const SCOPE_PATTERN = /^[A-Za-z0-9:_.*-]{1,64}$/;
/** What SCOPE_PATTERN allows, in words, for error messages and docs. */
export const SCOPE_RULE = "1-64 letters, digits or :_.*-";

/**
 * Whether a key is revoked at `now`: revoked outright, or by a scheduled
 * revocation whose time has come. Revocation only goes one way, so once this
 * is true it stays true.
 */
export function isRevokedAt(revoked: boolean, revokeAt: number | null | undefined, now: number): boolean {
  return revoked || (revokeAt !== null && revokeAt !== undefined && revokeAt <= now);
}

/** When a key was revoked as of `now`: its revocation time, or a scheduled one that has passed; null if not revoked. */
export function revokedAtAsOf(revokedAt: number | null, revokeAt: number | null, now: number): number | null {
  return revokedAt ?? (revokeAt !== null && revokeAt <= now ? revokeAt : null);
}

/** A KV key record as the key guard's settings (what each guard call carries). */
export function settingsOf(record: KeyRecord): KeySettings {
  return {
    keyId: record.id,
    version: record.version,
    limit: record.rateLimit.limit,
    windowSeconds: record.rateLimit.windowSeconds,
    expiresAt: record.expiresAt,
    revoked: record.status === "revoked",
    revokeAt: record.revokeAt ?? null,
    disabled: record.disabled === true,
    credits: record.credits ?? null,
  };
}
