import type { KeyRevoker } from "../admin/key-revoker";
import { settingsOfLedger } from "../admin/key-view";
import type { LeakConfig } from "../config";
import type { GuardClient } from "../guard/guard-client";
import { hashKey, type ParsedKey } from "../keys/key-format";
import { revokedAtAsOf } from "../keys/key-model";
import type { AuditEvent } from "../ledger/audit-log";
import type { LedgerClient } from "../ledger/ledger-client";
import type { Logger } from "../log";
import type { KeyIndex } from "../lookup/key-index";

export interface LeakHandlerOptions {
  config: LeakConfig;
  parseKey: (candidate: string) => ParsedKey;
  keys: KeyIndex;
  ledger: LedgerClient;
  /** KV catch-up after the ledger (syncKv). */
  revoker: KeyRevoker;
  /** The key's guard takes the revocation first. */
  guards: GuardClient;
  now: () => number;
  log: Logger;
}

export interface LeakReport {
  token: string;
  /** Where it was found, if the reporter said. */
  url: string | null;
  /** Audit actor: `secret-scanning:github` or `report`. */
  source: string;
  requestId: string;
}

/** GitHub's labels: a true positive is a live Keyward key of this deployment. */
export type LeakVerdict = "true_positive" | "false_positive";

/**
 * What happens to a reported key: possession by a stranger is compromise. A
 * string that is not a key of this deployment changes nothing. A known key is
 * revoked (unless LEAK_ACTION=notify) in the one revocation order, guard first,
 * so that its next request is refused everywhere; then the ledger decides, in
 * one transaction, whether this report is the first (ledger/leak-mark.ts): the
 * first marks it leaked with where it was found, records `key.revoked` and
 * `key.leaked` (announced to the org's webhook); any other, however concurrent,
 * is `key.leak_reported_again` only (not announced); then KV catches up.
 * Throws (503) when KV, the ledger or the guard cannot answer: the reporter
 * retries, and a retry completes what is left (the guard's revoke is idempotent,
 * the ledger revokes once, KV is written while it is behind).
 */
export function leakHandler(options: LeakHandlerOptions) {
  return async function handleLeak(report: LeakReport): Promise<LeakVerdict> {
    const parsed = options.parseKey(report.token);
    if (!parsed.ok) return "false_positive";
    const hash = await hashKey(parsed.key);
    const record = await options.keys.get(hash);
    if (record === null) return "false_positive";
    const key = await options.ledger.getKey(record.org, record.id);
    if (key === null) {
      options.log.error("leak_key_missing_in_ledger", { keyId: record.id });
      return "false_positive";
    }
    const now = options.now();
    // A secret the key was rolled away from (the ledger names another). Past its
    // grace it is already refused everywhere: only that secret is affected, the
    // key's current secret goes on working, and the report is audited. Inside its
    // grace (or with no grace end on record) it still works, so the whole key is
    // revoked as for any leak (docs/leaks.md).
    if (key.hash !== hash && record.secretValidUntil !== undefined && now >= record.secretValidUntil) {
      const audit: AuditEvent = {
        at: now,
        actor: report.source,
        action: "key.previous_secret_leaked",
        keyId: key.id,
        requestId: report.requestId,
        detail: { url: report.url, previousPrefix: record.prefix, outcome: "already refused; the key's current secret is unaffected" },
      };
      await options.ledger.updateKey(record.org, key.id, {}, [audit]);
      options.log.info("replaced_secret_reported_leaked", { requestId: report.requestId, keyId: key.id, source: report.source });
      return "true_positive";
    }
    const revoking = options.config.action === "revoke";
    // Enforcement first: concurrent reports each tell the guard, which is idempotent.
    if (revoking && revokedAtAsOf(key.revokedAt, key.revokeAt, now) === null) {
      await options.guards.revoke({ ...settingsOfLedger(key), version: key.version + 1 }, null);
    }
    // Another report of this key may be decided between the read above and here: the ledger's answer is the one that counts.
    const mark = { at: now, url: report.url, source: report.source, requestId: report.requestId, action: options.config.action };
    const marked = await options.ledger.markLeaked(record.org, key.id, mark);
    if (marked === null) return "false_positive";
    if (revoking) await options.revoker.syncKv(record.org, marked, "The key is revoked and already refused.");
    options.log.info("key_reported_leaked", { requestId: report.requestId, keyId: key.id, source: report.source, revoked: revoking });
    return "true_positive";
  };
}

export type LeakHandler = ReturnType<typeof leakHandler>;
