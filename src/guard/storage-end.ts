import type { ListedKey } from "../ledger/key-store";
import type { OrgLedger } from "../ledger/org-ledger";
import { withTimeout } from "../timeout";

/**
 * When a guard's storage has served its purpose and is deleted (`deleteAll()`
 * from its alarm; docs/storage.md, "Retention"). Pure: the guard passes its
 * state, its last admission and the retention.
 *
 * - A limiter with no key behind it (leak reports per client address,
 *   `endsWhenIdle`): once its newest admission has left the window, nothing it
 *   stores can decide a request, so it ends then.
 * - A key's guard: a retention period after the key was revoked or expired. A
 *   revoked or expired key is refused with or without the guard's rows (the KV
 *   record says so, and expiry is in every record), and its audit and usage stay
 *   in the org's ledger. A revoked key's guard still asks the ledger first
 *   (key-guard.ts), because it is the one refusing when KV missed the revocation.
 */

/** What of a guard's state decides when its storage ends. */
export interface EndableState {
  revoked: boolean;
  revokedAt: number | null;
  /** A scheduled revocation: the key is revoked from then on. */
  revokeAt: number | null;
  expiresAt: number | null;
  windowMs: number;
  endsWhenIdle: boolean;
}

export const DEFAULT_RETENTION_DAYS = 30;
const DAY_MS = 86_400_000;

/** GUARD_RETENTION_DAYS: days a revoked or expired key's guard keeps its storage (1 to 3,650; default 30). Throws on anything else. */
export function retentionMs(raw: unknown): number {
  if (raw === undefined || raw === "") return DEFAULT_RETENTION_DAYS * DAY_MS;
  const days = typeof raw === "number" ? raw : Number(raw);
  if (!Number.isInteger(days) || days < 1 || days > 3650) throw new Error(`must be a whole number of days from 1 to 3650, got ${JSON.stringify(raw)}`);
  return days * DAY_MS;
}

/** The time this guard's storage ends, or null while it has a purpose. */
export function storageEndsAt(s: EndableState | null, lastUsedAt: number | null, retention: number): number | null {
  if (s === null) return null;
  if (s.endsWhenIdle) return lastUsedAt === null ? null : lastUsedAt + s.windowMs;
  const revoked = s.revoked ? (s.revokedAt ?? Number.POSITIVE_INFINITY) : (s.revokeAt ?? Number.POSITIVE_INFINITY);
  const over = Math.min(revoked, s.expiresAt ?? Number.POSITIVE_INFINITY);
  return over === Number.POSITIVE_INFINITY ? null : over + retention;
}

/** The retention the guard applies: GUARD_RETENTION_DAYS, or the default when it is bad (the Worker refuses to start then: config.ts). */
export function guardRetention(raw: unknown): number {
  try {
    return retentionMs(raw);
  } catch {
    return DEFAULT_RETENTION_DAYS * DAY_MS;
  }
}

/**
 * Whether ending needs the ledger's word first: a revoked key's guard (not a
 * limiter, not a key past its expiry's retention, which every KV record states).
 */
function endNeedsLedger(s: EndableState, now: number, retention: number): boolean {
  return !s.endsWhenIdle && !(s.expiresAt !== null && s.expiresAt + retention <= now);
}

/** How long a guard waits before asking the ledger again when it could not confirm a revocation. */
const END_RETRY_MS = DAY_MS;

/**
 * Whether the org's ledger holds the key as revoked with KV written at its
 * current version. Only then may the guard forget the revocation: with KV behind
 * (a revocation whose KV write failed, not yet repeated), the gateway still reads
 * an active record, and the guard's state is the only thing refusing the key.
 * Unknown org, no such key, or no answer: not settled (fail safe, kept).
 */
async function revocationSettled(ledgers: DurableObjectNamespace<OrgLedger>, org: string | null, keyId: string, timeoutMs: number): Promise<boolean> {
  if (org === null) return false;
  try {
    const stub = ledgers.get(ledgers.idFromName(org));
    const key = (await withTimeout(Promise.resolve(stub.getKey(keyId)), timeoutMs, "org ledger")) as ListedKey | null;
    return key !== null && key.revokedAt !== null && key.kvVersion >= key.version;
  } catch {
    return false;
  }
}

/** What a guard's ending reads of the Worker's environment. */
export interface StorageEndEnv {
  ORG_LEDGER: DurableObjectNamespace<OrgLedger>;
  GUARD_RETENTION_DAYS?: unknown;
}

/** A ledger that has not answered within this leaves the storage for the next try. */
const LEDGER_TIMEOUT_MS = 5_000;

/** One guard's end: when it is, and whether it may happen now (asking the ledger for a revoked key). */
export class StorageEnd {
  /** Not before this: the ledger could not confirm that a revoked key's storage may end. */
  private retryAt = 0;

  constructor(private readonly env: StorageEndEnv) {}

  /** When the storage ends (null: not while the state is as it is). */
  at(state: EndableState | null, lastUsedAt: number | null): number | null {
    const end = storageEndsAt(state, lastUsedAt, guardRetention(this.env.GUARD_RETENTION_DAYS));
    return end === null ? null : Math.max(end, this.retryAt);
  }

  /**
   * Whether the storage may be deleted at `now`. `settled` says nothing counted
   * waits to be reported; it is asked again after the ledger's answer, because
   * requests may have been decided (and counted) meanwhile.
   */
  async due(
    state: (EndableState & { keyId: string }) | null,
    lastUsedAt: number | null,
    org: string | null,
    now: number,
    settled: () => boolean,
  ): Promise<boolean> {
    const end = this.at(state, lastUsedAt);
    if (state === null || end === null || now < end || !settled()) return false;
    if (!endNeedsLedger(state, now, guardRetention(this.env.GUARD_RETENTION_DAYS))) return true;
    if (!(await revocationSettled(this.env.ORG_LEDGER, org, state.keyId, LEDGER_TIMEOUT_MS))) {
      this.retryAt = now + END_RETRY_MS;
      return false;
    }
    return settled();
  }
}
