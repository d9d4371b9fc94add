import type { KeyMeta } from "../identity/key-meta";
import { isRevokedAt, revokedAtAsOf } from "../keys/key-model";
import { type Credits, nextRefillAt, refilled } from "./credits";
import type { GuardStatus, KeySettings } from "./guard-types";
import type { KeySecrets } from "./key-secrets";
import type { NamedLimit } from "./named-limits";
import type { OrgLimit } from "./org-limit";

/** One key's security state as its guard holds it: the one row of `guard_state`. */
export interface GuardState {
  keyId: string;
  version: number;
  revoked: boolean;
  revokedAt: number | null;
  revokeAt: number | null;
  limit: number;
  windowMs: number;
  expiresAt: number | null;
  disabled: boolean;
  /** The balance (null: unlimited). Decided here with the window, in the same step. */
  credits: Credits | null;
  /**
   * The key's metadata as last set through this guard (undefined: never set
   * here, so the caller's record has it right). Handed back to callers whose
   * record is older than this state, so a change shows on the next request.
   */
  meta?: KeyMeta | null;
  /** The org's shared limit, when the operator set one (src/guard/org-limit.ts). */
  orgLimit: OrgLimit | null;
  /** A limiter whose storage ends once its window is empty (KeySettings.endsWhenIdle). */
  endsWhenIdle: boolean;
  /** Every window when the operator named them (named-limits.ts), the main one (limit, windowMs) among them; null: the main one only, unnamed. */
  limits: NamedLimit[] | null;
  /** The org whose org credits every admission also spends (org-credits.ts); null: none. */
  orgCredits: string | null;
  /** Which secrets are accepted, once the key has been rolled (key-secrets.ts); absent before. */
  secrets?: KeySecrets;
}

const json = <T>(value: unknown): T | null => (value === null || value === undefined ? null : (JSON.parse(String(value)) as T));

/** The state from the columns of a `guard_state` row (the wake's read, guard-schema.ts), or null when it has none (`key_id` null): a guard never asked about its key. */
export function stateOf(row: Record<string, SqlStorageValue>): GuardState | null {
  if (row.key_id === null || row.key_id === undefined) return null;
  return {
    keyId: String(row.key_id),
    version: Number(row.version),
    revoked: row.revoked === 1,
    revokedAt: row.revoked_at === null ? null : Number(row.revoked_at),
    revokeAt: row.revoke_at === null ? null : Number(row.revoke_at),
    limit: Number(row.limit_n),
    windowMs: Number(row.window_ms),
    expiresAt: row.expires_at === null ? null : Number(row.expires_at),
    disabled: row.disabled === 1,
    credits: json<Credits>(row.credits),
    ...(row.meta === null || row.meta === undefined ? {} : { meta: JSON.parse(String(row.meta)) as KeyMeta | null }),
    orgLimit: json<OrgLimit>(row.org_limit),
    endsWhenIdle: row.ends_when_idle === 1,
    limits: json<NamedLimit[]>(row.limits),
    orgCredits: row.org_credits == null ? null : String(row.org_credits),
    ...(row.secrets === null || row.secrets === undefined ? {} : { secrets: JSON.parse(String(row.secrets)) as KeySecrets }),
  };
}

/** Writes the state row; answers the rows written (for the cost counters). */
export function writeState(sql: SqlStorage, s: GuardState): number {
  return sql.exec(
    `INSERT OR REPLACE INTO guard_state (id, key_id, version, revoked, revoked_at, revoke_at, limit_n, window_ms, expires_at, disabled, credits, meta, org_limit, ends_when_idle, limits, org_credits, secrets)
     VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    s.keyId,
    s.version,
    s.revoked ? 1 : 0,
    s.revokedAt,
    s.revokeAt,
    s.limit,
    s.windowMs,
    s.expiresAt,
    s.disabled ? 1 : 0,
    s.credits === null ? null : JSON.stringify(s.credits),
    s.meta === undefined ? null : JSON.stringify(s.meta),
    s.orgLimit === null ? null : JSON.stringify(s.orgLimit),
    s.endsWhenIdle ? 1 : 0,
    s.limits === null ? null : JSON.stringify(s.limits),
    s.orgCredits,
    s.secrets === undefined ? null : JSON.stringify(s.secrets),
  ).rowsWritten;
}

/**
 * Takes the caller's view of the key's settings only where it is newer than
 * ours (`current` is updated in place). A stale record (older version) cannot
 * undo a revocation or a limit change made here; a revocation seen anywhere is
 * kept, because revocation only ever goes one way. `revokedNow`: the caller
 * must write the state before answering.
 */
export function adoptSettings(current: GuardState | null, settings: KeySettings, now: number): { state: GuardState; revokedNow: boolean } {
  let state = current;
  if (state && state.keyId !== settings.keyId) throw new Error("guard asked about another key");
  if (!state) {
    state = {
      keyId: settings.keyId,
      version: settings.version,
      revoked: false,
      revokedAt: null,
      revokeAt: settings.revokeAt,
      limit: settings.limit,
      windowMs: settings.windowSeconds * 1000,
      expiresAt: settings.expiresAt,
      disabled: settings.disabled === true,
      credits: settings.credits ?? null,
      orgLimit: null,
      endsWhenIdle: settings.endsWhenIdle === true,
      limits: null,
      orgCredits: null,
    };
  } else if (settings.version > state.version) {
    state.version = settings.version;
    state.limit = settings.limit;
    state.windowMs = settings.windowSeconds * 1000;
    state.expiresAt = settings.expiresAt;
    state.disabled = settings.disabled === true;
    if (settings.revokeAt !== null) state.revokeAt = Math.min(state.revokeAt ?? settings.revokeAt, settings.revokeAt);
  }
  const revokedNow = settings.revoked && !state.revoked;
  if (revokedNow) {
    state.revoked = true;
    state.revokedAt = now;
  }
  return { state, revokedNow };
}

/** Applies a scheduled revocation that is due at `now`; true when the state changed (and must be written). */
export function applyDueRevocation(s: GuardState | null, now: number): boolean {
  if (!s || s.revoked || s.revokeAt === null || s.revokeAt > now) return false;
  s.revoked = true;
  s.revokedAt = s.revokeAt;
  return true;
}

/** What the guard's memory adds to its state in a status: the window, the batch, the cost counters. */
export type LiveStatus = Pick<GuardStatus, "lastUsedAt" | "inWindow" | "pending" | "rowsWritten" | "admitted" | "refused" | "orgCalls">;

/** The key's security state at `now` as the admin API shows it. */
export function statusOf(s: GuardState, live: LiveStatus, now: number): GuardStatus {
  return {
    keyId: s.keyId,
    version: s.version,
    revoked: isRevokedAt(s.revoked, s.revokeAt, now),
    revokedAt: revokedAtAsOf(s.revokedAt, s.revokeAt, now),
    revokeAt: s.revokeAt,
    disabled: s.disabled,
    credits: s.credits === null ? null : { ...refilled(s.credits, now), nextRefillAt: nextRefillAt(refilled(s.credits, now)) },
    limit: s.limit,
    windowSeconds: Math.round(s.windowMs / 1000),
    ...live,
  };
}

/**
 * Revokes at `now` when `at` is null or past, or schedules the revocation for
 * `at` when that is sooner than one already scheduled. True when a revocation
 * was scheduled (the alarm must be moved). Nothing changes on a revoked key.
 */
export function applyRevoke(s: GuardState, at: number | null, now: number): boolean {
  if (s.revoked) return false;
  if (at === null || at <= now) {
    s.revoked = true;
    s.revokedAt = now;
    s.revokeAt = null;
    return false;
  }
  if (s.revokeAt !== null && at >= s.revokeAt) return false;
  s.revokeAt = at;
  return true;
}
