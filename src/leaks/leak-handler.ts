import type { KeyRevoker } from "../admin/key-revoker";
import type { LeakConfig } from "../config";
import { hashKey, type ParsedKey } from "../keys/key-format";
import type { AuditEvent } from "../ledger/audit-log";
import type { LedgerClient } from "../ledger/ledger-client";
import type { Logger } from "../log";
import type { KeyIndex } from "../lookup/key-index";

export interface LeakHandlerOptions {
  config: LeakConfig;
  parseKey: (candidate: string) => ParsedKey;
  keys: KeyIndex;
  ledger: LedgerClient;
  revoker: KeyRevoker;
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
 * revoked through the one revocation path (guard, ledger, KV) unless
 * LEAK_ACTION=notify, marked leaked with where it was found, audited by the
 * reporter, and announced (`key.leaked`). A second report of a leaked key is
 * audited again (the new URL is evidence) but not announced again.
 * Throws (503) when KV, the ledger or the guard cannot answer: the reporter retries.
 */
export function leakHandler(options: LeakHandlerOptions) {
  return async function handleLeak(report: LeakReport): Promise<LeakVerdict> {
    const parsed = options.parseKey(report.token);
    if (!parsed.ok) return "false_positive";
    const record = await options.keys.get(await hashKey(parsed.key));
    if (record === null) return "false_positive";
    const key = await options.ledger.getKey(record.org, record.id);
    if (key === null) {
      options.log.error("leak_key_missing_in_ledger", { keyId: record.id });
      return "false_positive";
    }
    const now = options.now();
    const revoking = options.config.action === "revoke";
    const event = (action: AuditEvent["action"]): AuditEvent => ({
      at: now,
      actor: report.source,
      action,
      keyId: key.id,
      requestId: report.requestId,
      detail: { url: report.url, action: options.config.action },
    });
    const first = key.leak === null;
    const also = {
      change: first ? { leak: { at: now, url: report.url, source: report.source } } : {},
      events: [event(first ? "key.leaked" : "key.leak_reported_again")],
    };
    if (revoking) {
      await options.revoker.revoke({
        org: record.org,
        key,
        now,
        at: null,
        actor: report.source,
        requestId: report.requestId,
        detail: { reason: "leaked", url: report.url },
        also,
      });
    } else {
      await options.ledger.updateKey(record.org, key.id, also.change, also.events);
    }
    options.log.info("key_reported_leaked", { requestId: report.requestId, keyId: key.id, source: report.source, revoked: revoking });
    return "true_positive";
  };
}

export type LeakHandler = ReturnType<typeof leakHandler>;
