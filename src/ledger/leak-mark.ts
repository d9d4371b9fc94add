import { revokedAtAsOf } from "../keys/key-model";
import type { AuditEvent } from "./audit-log";
import type { KeyChange, LedgerKey } from "./key-store";

/** A leak report as the ledger takes it: who reported what, and whether it revokes. */
export interface LeakMark {
  at: number;
  /** Where the key was found (http or https), or null. */
  url: string | null;
  /** Audit actor: `secret-scanning:github` or `report`. */
  source: string;
  requestId: string;
  /** LEAK_ACTION: `revoke` also revokes the key (its guard has the revocation already); `notify` does not. */
  action: "revoke" | "notify";
}

/**
 * What one leak report changes, decided against the key as the ledger holds it
 * now, inside the ledger's transaction: the first report of a key marks it
 * leaked and is `key.leaked` (and, when revoking, the one `key.revoked`); every
 * later one, however close behind (ten concurrent `POST /leaks`, or 16 copies in
 * one GitHub batch), finds the mark and is `key.leak_reported_again` only. The
 * ledger is single-threaded and this runs in one transaction, so exactly one
 * report is the first (threats.md 87).
 */
export function leakChange(key: LedgerKey, mark: LeakMark): { change: KeyChange; events: AuditEvent[]; first: boolean } {
  const first = key.leak === null;
  const event = (action: AuditEvent["action"], detail: Record<string, unknown>): AuditEvent => ({
    at: mark.at,
    actor: mark.source,
    action,
    keyId: key.id,
    requestId: mark.requestId,
    detail,
  });
  const change: KeyChange = first ? { leak: { at: mark.at, url: mark.url, source: mark.source } } : {};
  const events: AuditEvent[] = [];
  const revoking = mark.action === "revoke" && revokedAtAsOf(key.revokedAt, key.revokeAt, mark.at) === null;
  if (revoking) {
    Object.assign(change, { revokedAt: mark.at, revokeAt: null, version: key.version + 1 });
    events.push(event("key.revoked", { reason: "leaked", url: mark.url }));
  }
  events.push(event(first ? "key.leaked" : "key.leak_reported_again", { url: mark.url, action: mark.action }));
  return { change, events, first };
}
