import { settleBounded } from "../bounded";
import { KeywardError } from "../errors";
import type { GuardClient } from "../guard/guard-client";
import type { AuditEvent } from "../ledger/audit-log";
import type { KeyChange, LedgerKey } from "../ledger/key-store";
import type { LedgerClient } from "../ledger/ledger-client";
import type { Logger } from "../log";
import type { KeyIndex } from "../lookup/key-index";
import { iso, recordOfLedger, settingsOfLedger } from "./key-view";

export interface KeyRevokerOptions {
  guards: GuardClient;
  ledger: LedgerClient;
  keys: KeyIndex;
  log: Logger;
}

export interface RevokeInput {
  org: string;
  key: LedgerKey;
  now: number;
  /** A later revocation (rotation grace period); null revokes now. */
  at: number | null;
  actor: string;
  requestId: string;
  /** Why, recorded in the revocation's audit entry. */
  detail?: Record<string, unknown>;
}

export interface RevokeManyInput {
  now: number;
  actor: string;
  requestId: string;
  detail?: Record<string, unknown>;
}

/** How many guard RPCs and KV writes the kill switch keeps in flight at once. */
export const REVOKE_CONCURRENCY = 16;

export interface KeyRevoker {
  /** Revokes one key: guard, then ledger, then KV. Answers the key as the ledger now holds it. */
  revoke(input: RevokeInput): Promise<LedgerKey>;
  /** Writes the key's record to KV if the ledger says KV is behind, and notes it; a failure is a 503 that says `partial`. */
  syncKv(org: string, key: LedgerKey, partial: string): Promise<void>;
  /**
   * Revokes many keys of one org now (the kill switch): every guard first, with
   * bounded concurrency, then the ledger in one transaction, then KV. Answers the
   * counts; a failure part-way is a 503 whose `detail` says what was done, and
   * the same call repeated completes the rest.
   */
  revokeMany(org: string, keys: LedgerKey[], input: RevokeManyInput): Promise<{ revoked: number; alreadyRevoked: number }>;
}

/**
 * The one revocation path (admin revoke, leak reports, the org kill switch).
 * Order: the key's guard first, because once it has the revocation the very
 * next request is refused everywhere; then the ledger (book of record, audit);
 * then KV (edge index, a hint the guard overrides). A failure part-way leaves
 * the key refused, and repeating the same call completes the rest: the guard
 * call is idempotent, the ledger is not written twice, and KV is written while
 * the ledger says it is behind.
 */
export function keyRevoker(options: KeyRevokerOptions): KeyRevoker {
  async function syncKv(org: string, k: LedgerKey, partial: string): Promise<void> {
    if (k.kvVersion >= k.version) return;
    try {
      await options.keys.put(k.hash, recordOfLedger(k, org));
    } catch {
      options.log.error("kv_write_failed", { keyId: k.id });
      throw new KeywardError("AUTH_BACKEND_UNAVAILABLE", `${partial} The edge index (KV) could not be updated: repeat this call to complete it.`, {
        headers: { "Retry-After": "1" },
      });
    }
    await options.ledger.markSynced(org, k.id, k.version);
  }

  async function revoke(input: RevokeInput): Promise<LedgerKey> {
    const { org, now, at } = input;
    let k = input.key;
    const immediate = at === null || at <= now;
    const already = k.revokedAt !== null || (k.revokeAt !== null && (immediate ? k.revokeAt <= now : k.revokeAt <= (at as number)));
    const version = already ? k.version : k.version + 1;
    // Enforcement first: once the guard has it, the very next request is refused.
    await options.guards.revoke({ ...settingsOfLedger(k), version }, immediate ? null : at);
    if (!already) {
      const change: KeyChange = immediate ? { revokedAt: now, revokeAt: null, version } : { revokeAt: at, version };
      const events: AuditEvent[] = [
        {
          at: now,
          actor: input.actor,
          action: immediate ? "key.revoked" : "key.revocation_scheduled",
          keyId: k.id,
          requestId: input.requestId,
          detail: { ...(immediate ? {} : { at: iso(at) }), ...input.detail },
        },
      ];
      k = (await options.ledger.updateKey(org, k.id, change, events)) ?? k;
    }
    await syncKv(org, k, "The key is revoked and already refused.");
    return k;
  }

  async function revokeMany(org: string, all: LedgerKey[], input: RevokeManyInput): Promise<{ revoked: number; alreadyRevoked: number }> {
    const { now } = input;
    const inForce = (k: LedgerKey) => k.revokedAt !== null || (k.revokeAt !== null && k.revokeAt <= now);
    const pending = all.filter((k) => !inForce(k));
    const already = all.filter(inForce);

    // 1. Enforcement: once a guard has it, that key's next request is refused.
    const guarded = await settleBounded(pending, REVOKE_CONCURRENCY, (k) => options.guards.revoke({ ...settingsOfLedger(k), version: k.version + 1 }, null));
    const atGuard = pending.filter((_, i) => guarded[i]?.status === "fulfilled");

    // 2. Book of record and audit: one RPC, one transaction.
    let recorded: LedgerKey[] = [];
    let ledgerFailed = false;
    if (atGuard.length > 0) {
      try {
        recorded = await options.ledger.updateKeys(
          org,
          atGuard.map((k) => ({
            id: k.id,
            change: { revokedAt: now, revokeAt: null, version: k.version + 1 },
            events: [{ at: now, actor: input.actor, action: "key.revoked", keyId: k.id, requestId: input.requestId, detail: input.detail ?? {} }],
          })),
        );
      } catch {
        ledgerFailed = true;
      }
    }

    // 3. Edge index: the keys just recorded, and earlier ones whose KV write is
    // still behind (what a repeat after a failure part-way has left to do).
    const behind = [...recorded, ...already.filter((k) => k.revokedAt !== null && k.kvVersion < k.version)];
    const written = await settleBounded(behind, REVOKE_CONCURRENCY, (k) => options.keys.put(k.hash, recordOfLedger(k, org)));
    const synced = behind.filter((_, i) => written[i]?.status === "fulfilled");
    if (synced.length > 0) {
      // Losing this note only means a repeat writes those records to KV again.
      await options.ledger
        .markSyncedMany(
          org,
          synced.map((k) => ({ id: k.id, version: k.version })),
        )
        .catch(() => {});
    }

    const result = { revoked: recorded.length, alreadyRevoked: already.length };
    const notAtGuard = pending.length - atGuard.length;
    const kvPending = behind.length - synced.length;
    if (notAtGuard > 0 || ledgerFailed || kvPending > 0) {
      options.log.error("revoke_all_partial", { org, ...result, refusedAtGuard: atGuard.length, notAtGuard, ledgerFailed, kvPending });
      throw new KeywardError(
        "AUTH_BACKEND_UNAVAILABLE",
        `Part-way: ${atGuard.length} of ${pending.length} keys are already refused at their guards` +
          (notAtGuard > 0 ? `, ${notAtGuard} are not yet revoked` : "") +
          (ledgerFailed ? ", the ledger was not updated" : "") +
          (kvPending > 0 ? `, ${kvPending} edge index (KV) records are behind` : "") +
          ". Repeat this call to complete it.",
        {
          headers: { "Retry-After": "1" },
          detail: { ...result, refusedAtGuard: atGuard.length, notYetRevoked: notAtGuard, ledgerUpdated: !ledgerFailed, kvPending },
        },
      );
    }
    return result;
  }

  return { revoke, syncKv, revokeMany };
}
