import { KeywardError } from "../errors";
import type { GuardClient } from "../guard/guard-client";
import type { LedgerClient } from "../ledger/ledger-client";
import type { AuditEvent, KeyChange, LedgerKey } from "../ledger/org-ledger";
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
  /** More changes and audit entries written in the same ledger transaction (a leak mark). */
  also?: { change: KeyChange; events: AuditEvent[] };
}

export interface KeyRevoker {
  /** Revokes one key: guard, then ledger, then KV. Answers the key as the ledger now holds it. */
  revoke(input: RevokeInput): Promise<LedgerKey>;
  /** Writes the key's record to KV if the ledger says KV is behind, and notes it; a failure is a 503 that says `partial`. */
  syncKv(org: string, key: LedgerKey, partial: string): Promise<void>;
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
    if (!already || input.also) {
      const change: KeyChange = already ? {} : immediate ? { revokedAt: now, revokeAt: null, version } : { revokeAt: at, version };
      const events: AuditEvent[] = already
        ? []
        : [
            {
              at: now,
              actor: input.actor,
              action: immediate ? "key.revoked" : "key.revocation_scheduled",
              keyId: k.id,
              requestId: input.requestId,
              detail: { ...(immediate ? {} : { at: iso(at) }), ...input.detail },
            },
          ];
      k = (await options.ledger.updateKey(org, k.id, { ...change, ...input.also?.change }, [...events, ...(input.also?.events ?? [])])) ?? k;
    }
    await syncKv(org, k, "The key is revoked and already refused.");
    return k;
  }

  return { revoke, syncKv };
}
