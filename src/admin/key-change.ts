import type { KeySettings } from "../guard/guard-types";
import { type AuditAction, type AuditContext, auditEvent } from "../ledger/audit-log";
import type { KeyChange, ListedKey } from "../ledger/key-store";
import type { LedgerClient } from "../ledger/ledger-client";
import type { KeyRevoker } from "./key-revoker";
import { settingsOfLedger } from "./key-view";

/** One change to a key: the guard's part, then what the ledger records of it. */
export interface KeyChangeStep<T> {
  /** The guard's part, given the key's settings at the next version; its answer goes to `ledger`. */
  guard(settings: KeySettings): Promise<T>;
  /** The fields that change (the new version is added) and the audit entry; may refuse by throwing. */
  ledger(answer: T): { change: KeyChange; action: AuditAction; detail?: Record<string, unknown> };
}

/** Applies a change to a key (see keyChanger); answers the key as the ledger now holds it, and the guard's answer. */
export type ChangeKey = <T>(
  org: string,
  key: ListedKey,
  who: AuditContext,
  step: KeyChangeStep<T> | null,
  synced: string,
) => Promise<{ key: ListedKey; answer: T | null }>;

/**
 * The one sequence of a key change (limit, suspend and resume, metadata,
 * credits), in the order every change goes: the key's guard first, so that the
 * change is in force from the next request; then the ledger with its audit
 * entry (book of record, read-your-writes); then KV (the edge index, a hint the
 * guard overrides). `step` null: nothing changes, and KV is only brought up to
 * date. A failure part-way is a 503 (`synced` says what already holds) and
 * repeating the call completes it. Revocation has its own path (key-revoker.ts).
 */
export function keyChanger(deps: { ledger: LedgerClient; revoker: KeyRevoker }): ChangeKey {
  return async (org, k, who, step, synced) => {
    let key = k;
    let answer = null;
    if (step !== null) {
      const version = k.version + 1;
      answer = await step.guard({ ...settingsOfLedger(k), version });
      const { change, action, detail } = step.ledger(answer);
      key = (await deps.ledger.updateKey(org, k.id, { ...change, version }, auditEvent(who, action, k.id, detail))) ?? k;
    }
    await deps.revoker.syncKv(org, key, synced);
    return { key, answer };
  };
}
