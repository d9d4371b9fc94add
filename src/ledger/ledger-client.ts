import { backendUnavailable, KeywardError } from "../errors";
import type { OrgLimit } from "../guard/org-limit";
import type { Logger } from "../log";
import { withTimeout } from "../timeout";
import type { Delivery, WebhookConfig } from "../webhooks/webhook-store";
import type { Anomaly, AnomalyStatus } from "./anomaly-store";
import type { AuditEvent } from "./audit-log";
import type { AuditEntry, AuditPageQuery } from "./audit-pages";
import type { KeyName } from "./key-names";
import type { KeyPageQuery } from "./key-pages";
import type { KeyChange, LedgerKey, ListedKey } from "./key-store";
import type { LeakMark } from "./leak-mark";
import type { OrgLedger } from "./org-ledger";
import type { NamedOrgUsage } from "./usage-store";

export interface LedgerClientOptions {
  namespace: DurableObjectNamespace<OrgLedger>;
  /** A ledger that has not answered within this is treated as failed (503). */
  timeoutMs: number;
  log: Logger;
}

/** A delivery as the admin API lists it (without its payload). */
export type DeliveryView = Omit<Delivery, "payload">;

/** Typed calls to one organisation's ledger (one Durable Object per org id). */
export interface LedgerClient {
  addKey(org: string, key: LedgerKey, event: AuditEvent): Promise<void>;
  rollBackKey(org: string, id: string, event: AuditEvent): Promise<void>;
  getKey(org: string, id: string): Promise<ListedKey | null>;
  listKeyPage(org: string, query: KeyPageQuery): Promise<{ keys: ListedKey[]; nextCursor: string | null }>;
  updateKey(org: string, id: string, change: KeyChange, event: AuditEvent | AuditEvent[] | null): Promise<ListedKey | null>;
  markSynced(org: string, id: string, version: number): Promise<void>;
  updateKeys(org: string, updates: { id: string; change: KeyChange; events: AuditEvent[] }[]): Promise<ListedKey[]>;
  /** A leak report, decided in the ledger (leak-mark.ts); null: no such key. */
  markLeaked(org: string, id: string, mark: LeakMark): Promise<ListedKey | null>;
  markSyncedMany(org: string, entries: { id: string; version: number }[]): Promise<void>;
  setWebhook(org: string, config: WebhookConfig): Promise<void>;
  getWebhook(org: string): Promise<Omit<WebhookConfig, "secret"> | null>;
  removeWebhook(org: string): Promise<boolean>;
  deliveries(org: string): Promise<DeliveryView[]>;
  redeliver(org: string, id: string): Promise<DeliveryView | null>;
  recordAudit(org: string, event: AuditEvent): Promise<void>;
  /** One page of the audit log, newest first (audit-pages.ts). */
  auditPage(org: string, query: AuditPageQuery): Promise<AuditPage>;
  keyUsage(org: string, keyId: string, span: "hour" | "day", from: number, to: number): Promise<KeyUsage | null>;
  orgUsage(org: string, span: "hour" | "day", from: number, to: number): Promise<NamedOrgUsage>;
  getOrgLimit(org: string): Promise<OrgLimit | null>;
  setOrgLimit(org: string, limit: OrgLimit | null, event: AuditEvent): Promise<void>;
  anomalies(org: string, status: AnomalyStatus): Promise<(Anomaly & KeyName)[]>;
  acknowledgeAnomaly(org: string, id: string, by: string, requestId: string, at: number): Promise<(Anomaly & KeyName) | null>;
}

/** A page of the audit log, each entry with its key's label and prefix. */
export interface AuditPage {
  events: (AuditEntry & KeyName)[];
  nextCursor: string | null;
}

/** One key's reported usage, as the ledger answers it. */
export type KeyUsage = NonNullable<ReturnType<OrgLedger["keyUsage"]>>;

interface DurableObjectError {
  retryable?: boolean;
  overloaded?: boolean;
}

/**
 * Calls an org's ledger with the key guard client's failure policy, fail closed:
 * an overloaded ledger is 503 with Retry-After at once; a retryable failure of a
 * read or of an idempotent write is tried once more on a fresh stub; anything
 * else, or no answer within the deadline, is 503 AUTH_BACKEND_UNAVAILABLE.
 * Writes that append to the audit log are never retried: a lost reply could
 * otherwise record one change twice.
 */
export function ledgerClient(options: LedgerClientOptions): LedgerClient {
  const stubFor = (org: string) => options.namespace.get(options.namespace.idFromName(org));

  async function call<T>(org: string, op: string, retry: boolean, invoke: (stub: DurableObjectStub<OrgLedger>) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await withTimeout(invoke(stubFor(org)), options.timeoutMs, "org ledger");
      } catch (error) {
        if (error instanceof KeywardError) throw error;
        const e = error as DurableObjectError;
        options.log.error("ledger_call_failed", {
          op,
          org,
          attempt,
          error: error instanceof Error ? error.name : "unknown",
          retryable: e.retryable === true,
          overloaded: e.overloaded === true,
        });
        if (e.overloaded) throw backendUnavailable("the organisation's key ledger (overloaded)", 2);
        if (retry && e.retryable && attempt < 2) continue;
        throw backendUnavailable("the organisation's key ledger");
      }
    }
  }

  // The stub's RPC return types are wrapped by the runtime; each call below names
  // the plain type once, here, instead of at every call site.
  return {
    addKey: (org, key, event) => call(org, "addKey", false, async (stub) => void (await stub.addKey(key, event))),
    rollBackKey: (org, id, event) => call(org, "rollBackKey", false, async (stub) => void (await stub.rollBackKey(id, event))),
    getKey: (org, id) => call(org, "getKey", true, async (stub): Promise<ListedKey | null> => await stub.getKey(id)),
    listKeyPage: (org, query) =>
      call(org, "listKeyPage", true, async (stub): Promise<{ keys: ListedKey[]; nextCursor: string | null }> => await stub.listKeyPage(query)),
    updateKey: (org, id, change, event) =>
      call(org, "updateKey", event === null, async (stub): Promise<ListedKey | null> => await stub.updateKey(id, change, event)),
    // Not retried: it appends audit entries, and a lost reply could record them twice.
    updateKeys: (org, updates) => call(org, "updateKeys", false, async (stub): Promise<ListedKey[]> => await stub.updateKeys(updates)),
    // Not retried either: it appends audit entries.
    markLeaked: (org, id, mark) => call(org, "markLeaked", false, async (stub): Promise<ListedKey | null> => await stub.markLeaked(id, mark)),
    setWebhook: (org, config) => call(org, "setWebhook", true, async (stub) => void (await stub.setWebhook(config))),
    getWebhook: (org) => call(org, "getWebhook", true, async (stub): Promise<Omit<WebhookConfig, "secret"> | null> => await stub.getWebhook()),
    removeWebhook: (org) => call(org, "removeWebhook", true, async (stub): Promise<boolean> => await stub.removeWebhook()),
    deliveries: (org) => call(org, "deliveries", true, async (stub): Promise<DeliveryView[]> => await stub.deliveries()),
    redeliver: (org, id) => call(org, "redeliver", true, async (stub): Promise<DeliveryView | null> => await stub.redeliver(id)),
    markSyncedMany: (org, entries) => call(org, "markSyncedMany", true, async (stub) => void (await stub.markSyncedMany(entries))),
    markSynced: (org, id, version) => call(org, "markSynced", true, async (stub) => void (await stub.markSynced(id, version))),
    recordAudit: (org, event) => call(org, "recordAudit", false, async (stub) => void (await stub.recordAudit(event))),
    auditPage: (org, query) => call(org, "auditPage", true, async (stub): Promise<AuditPage> => await stub.auditPage(query)),
    keyUsage: (org, keyId, span, from, to) => call(org, "keyUsage", true, async (stub): Promise<KeyUsage | null> => await stub.keyUsage(keyId, span, from, to)),
    orgUsage: (org, span, from, to) => call(org, "orgUsage", true, async (stub): Promise<NamedOrgUsage> => await stub.orgUsage(span, from, to)),
    getOrgLimit: (org) => call(org, "getOrgLimit", true, async (stub): Promise<OrgLimit | null> => await stub.getOrgLimit()),
    setOrgLimit: (org, limit, event) => call(org, "setOrgLimit", false, async (stub) => void (await stub.setOrgLimit(limit, event))),
    anomalies: (org, status) => call(org, "anomalies", true, async (stub): Promise<(Anomaly & KeyName)[]> => await stub.anomalies(status)),
    // Idempotent (the first acknowledgement stands, and only it is audited), so it may be retried.
    acknowledgeAnomaly: (org, id, by, requestId, at) =>
      call(org, "acknowledgeAnomaly", true, async (stub): Promise<(Anomaly & KeyName) | null> => await stub.acknowledgeAnomaly(id, by, requestId, at)),
  };
}
