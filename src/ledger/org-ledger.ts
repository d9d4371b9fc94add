/**
 * The consistent record of one organisation's keys and of every change to them:
 * the admin API reads and writes here, so a list right after a create or a revoke
 * shows it (KV, the edge index, is eventually consistent and cannot promise that).
 * The key guard stays the authority for enforcement; this is the book of record.
 * It reads no binding (`this.env` is never used), so it is declared without one.
 *
 * A reader's path: ledger-schema.ts (the tables, migrated once per version on a
 * wake); key-store.ts (the keys) and audit-log.ts (every change, append-only),
 * written together in one transaction by the verbs below; usage-store.ts and
 * anomaly-store.ts (what the guards report); webhook-store.ts (the org's
 * webhook and its queue); ledger-alarm.ts (scheduled revocations, expiry
 * notices and deliveries, from the alarm only).
 */
import { DurableObject } from "cloudflare:workers";
import type { OrgLimit } from "../guard/org-limit";
import { randomId } from "../keys/key-format";
import type { AnomalyFinding } from "../usage/anomaly-rules";
import type { Granularity } from "../usage/usage-book";
import type { UsageReport } from "../usage/usage-report";
import { DELIVERY_TIMEOUT_MS } from "../webhooks/deliver";
import type { WebhookEventType } from "../webhooks/webhook-events";
import { type Delivery, deleteWebhook, enqueue, readWebhook, recentDeliveries, redeliver, type WebhookConfig, writeWebhook } from "../webhooks/webhook-store";
import { type Anomaly, type AnomalyStatus, acknowledgeAnomaly, listAnomalies, upsertAnomaly } from "./anomaly-store";
import { type AuditEvent, appendAudit } from "./audit-log";
import { type AuditEntry, type AuditPageQuery, readAuditPage } from "./audit-pages";
import { type KeyName, withKeyNames } from "./key-names";
import type { KeyPageQuery } from "./key-pages";
import { insertKey, type KeyChange, type LedgerKey, type ListedKey, markSynced, readKey, readKeyPage, writeKey } from "./key-store";
import { type LeakMark, leakChange } from "./leak-mark";
import { LedgerAlarm, type Outbound } from "./ledger-alarm";
import { openLedgerSchema } from "./ledger-schema";
import { readOrgLimit, writeOrgLimit } from "./org-settings";
import { type KeyUsageView, keyUsageView, type NamedOrgUsage, orgUsage, storeReport } from "./usage-store";

export type { LedgerKey } from "./key-store";

export class OrgLedger extends DurableObject<unknown> {
  private readonly jobs: LedgerAlarm;
  private readonly sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: unknown) {
    super(ctx, env);
    openLedgerSchema(ctx.storage);
    this.sql = ctx.storage.sql;
    this.jobs = new LedgerAlarm(ctx, {
      outbound: () => this.outbound,
      updateKey: (id, change, event) => void this.updateKey(id, change, event),
      enqueueEvent: (type, data, at) => this.enqueueEvent(type, data, at),
    });
  }

  /** The clock and the network as webhook delivery sees them; tests replace them (runInDurableObject). */
  outbound: Outbound = {
    now: () => Date.now(),
    fetch: (input, init) => fetch(input, init),
    timeoutMs: DELIVERY_TIMEOUT_MS,
  };

  addKey(key: LedgerKey, event: AuditEvent): void {
    this.ctx.storage.transactionSync(() => {
      insertKey(this.sql, key);
      this.record(event);
    });
    // Its expiry notices need the alarm at the right time.
    if (key.expiresAt !== null) void this.jobs.schedule().catch(() => {});
  }

  /**
   * Undoes a create whose KV write failed, so that no half-made key is listed. The audit log is
   * append-only: `key.created` stays, and the rollback is recorded after it in the same transaction.
   */
  rollBackKey(id: string, event: AuditEvent): void {
    this.ctx.storage.transactionSync(() => {
      this.sql.exec("DELETE FROM keys WHERE id = ?", id);
      this.record(event);
    });
  }

  getKey(id: string): ListedKey | null {
    return readKey(this.sql, id);
  }

  /** One page of keys (key-pages.ts): a single query whatever the org's size. */
  listKeyPage(query: KeyPageQuery): { keys: ListedKey[]; nextCursor: string | null } {
    return readKeyPage(this.sql, query);
  }

  /**
   * A key guard's usage summary (at most one a minute per key, from its alarm):
   * stored, and its findings raised. Reports for keys this org does not hold are dropped.
   */
  report(report: UsageReport): void {
    if (this.sql.exec("SELECT 1 FROM keys WHERE id = ?", report.keyId).toArray().length === 0) return;
    this.ctx.storage.transactionSync(() => {
      storeReport(this.sql, report);
      for (const finding of report.anomalies) this.raiseAnomaly(report.keyId, finding, report.at);
    });
  }

  /**
   * The one place an anomaly is raised: opens a flag, or updates the open one
   * of that type for the key. Anything that must follow a raised anomaly (a
   * notification, a webhook event) belongs here and nowhere else.
   */
  private raiseAnomaly(keyId: string, finding: AnomalyFinding, at: number): { anomaly: Anomaly; opened: boolean } {
    const raised = upsertAnomaly(this.sql, keyId, finding, at, () => randomId("anm"));
    // Announced once per flag, when it opens (updates of an open flag are not news).
    if (raised.opened) this.enqueueEvent("usage.anomaly", { keyId, anomaly: raised.anomaly }, at);
    return raised;
  }

  /** One key's reported usage (hour or day buckets in [from, to)); null when the org has no such key. */
  keyUsage(keyId: string, span: Exclude<Granularity, "minute">, from: number, to: number): KeyUsageView<ListedKey> | null {
    const key = this.getKey(keyId);
    return key === null ? null : keyUsageView(this.sql, key, span, from, to);
  }

  /** The org's reported usage over [from, to), for its usage view. */
  orgUsage(span: Exclude<Granularity, "minute">, from: number, to: number, top = 10): NamedOrgUsage {
    const usage = orgUsage(this.sql, span, from, to, top);
    return { ...usage, topKeys: withKeyNames(this.sql, usage.topKeys) };
  }

  anomalies(status: AnomalyStatus, limit = 500): (Anomaly & KeyName)[] {
    return withKeyNames(this.sql, listAnomalies(this.sql, status, limit));
  }

  /** Acknowledges a flag and audits it (only the first acknowledgement is recorded); null: no such flag. */
  acknowledgeAnomaly(id: string, by: string, requestId: string, at: number): (Anomaly & KeyName) | null {
    return this.ctx.storage.transactionSync(() => {
      const result = acknowledgeAnomaly(this.sql, id, by, at);
      if (result?.changed) {
        const a = result.anomaly;
        this.record({ at, actor: by, action: "anomaly.acknowledged", keyId: a.keyId, requestId, detail: { anomalyId: a.id, type: a.type } });
      }
      return result === null ? null : (withKeyNames(this.sql, [result.anomaly])[0] ?? null);
    });
  }

  /** Writes a changed key and its audit events together. Only changed fields are passed. */
  updateKey(id: string, change: KeyChange, event: AuditEvent | AuditEvent[] | null): ListedKey | null {
    return this.ctx.storage.transactionSync(() => this.applyChange(id, change, event === null ? [] : Array.isArray(event) ? event : [event]));
  }

  /** One key's change and its audit events; the caller holds the transaction. */
  private applyChange(id: string, change: KeyChange, events: AuditEvent[]): ListedKey | null {
    const current = this.getKey(id);
    if (!current) return null;
    const next = { ...current, ...change };
    writeKey(this.sql, next);
    for (const e of events) this.record(e);
    // A scheduled revocation is recorded by the alarm when it comes due (ledger-alarm.ts).
    if (next.revokedAt === null && next.revokeAt !== null && next.revokeAt !== current.revokeAt) this.jobs.wakeAt(next.revokeAt);
    return next;
  }

  /**
   * A leak report, decided here in one transaction (leak-mark.ts): the first
   * report of the key marks it leaked and, when revoking, revokes it in the book
   * of record; later ones are reports again. Answers the key as it now stands,
   * or null when the org has no such key.
   */
  markLeaked(id: string, mark: LeakMark): ListedKey | null {
    return this.ctx.storage.transactionSync(() => {
      const current = this.getKey(id);
      if (current === null) return null;
      const { change, events } = leakChange(current, mark);
      return this.applyChange(id, change, events);
    });
  }

  /** Several key changes with their audit events, in one transaction and one RPC (the kill switch); unknown ids skipped. */
  updateKeys(updates: { id: string; change: KeyChange; events: AuditEvent[] }[]): ListedKey[] {
    return this.ctx.storage.transactionSync(() =>
      updates.flatMap((u) => {
        const next = this.applyChange(u.id, u.change, u.events);
        return next === null ? [] : [next];
      }),
    );
  }

  /** markSynced for many keys in one RPC. */
  markSyncedMany(entries: { id: string; version: number }[]): void {
    this.ctx.storage.transactionSync(() => {
      for (const e of entries) markSynced(this.sql, e.id, e.version);
    });
  }

  /** Notes that KV now holds `version` of the key's record. */
  markSynced(id: string, version: number): void {
    markSynced(this.sql, id, version);
  }

  /** One page of the audit log, newest first (audit-pages.ts), each entry with its key's label and prefix. */
  auditPage(query: AuditPageQuery): { events: (AuditEntry & KeyName)[]; nextCursor: string | null } {
    const page = readAuditPage(this.sql, query);
    return { events: withKeyNames(this.sql, page.events), nextCursor: page.nextCursor };
  }

  /**
   * THE way to raise an event for the org's webhook (audit, anomalies, expiry notices, anything
   * added later): queued in the caller's transaction when there is one, delivered by the alarm,
   * never on a request's path. Answers the delivery id (webhook-id), or null when no webhook takes it.
   */
  enqueueEvent(type: WebhookEventType, data: { keyId: string } & Record<string, unknown>, at: number = this.outbound.now()): string | null {
    const id = enqueue(this.sql, type, data, at);
    if (id !== null) this.jobs.wakeAt(at);
    return id;
  }

  /** Sets the org's webhook (replacing any before it). */
  setWebhook(config: WebhookConfig): void {
    writeWebhook(this.sql, config);
    void this.jobs.schedule();
  }

  getWebhook(): Omit<WebhookConfig, "secret"> | null {
    const hook = readWebhook(this.sql);
    if (hook === null) return null;
    const { secret: _secret, ...rest } = hook;
    return rest;
  }

  removeWebhook(): boolean {
    return deleteWebhook(this.sql);
  }

  deliveries(limit = 100): Omit<Delivery, "payload">[] {
    return recentDeliveries(this.sql, limit).map(({ payload: _payload, ...rest }) => rest);
  }

  redeliver(id: string): Omit<Delivery, "payload"> | null {
    const d = redeliver(this.sql, id, this.outbound.now());
    if (d === null) return null;
    this.jobs.wakeAt(this.outbound.now());
    const { payload: _payload, ...rest } = d;
    return rest;
  }

  /** Scheduled revocations, expiry notices and webhook deliveries (ledger-alarm.ts). */
  override async alarm(): Promise<void> {
    await this.jobs.run();
  }

  /** The org's shared rate limit, or null. */
  getOrgLimit(): OrgLimit | null {
    return readOrgLimit(this.sql);
  }

  /** Sets (or, with null, removes) the org's shared rate limit, with its audit event. */
  setOrgLimit(limit: OrgLimit | null, event: AuditEvent): void {
    this.ctx.storage.transactionSync(() => {
      writeOrgLimit(this.sql, limit);
      this.record(event);
    });
  }

  /** Appends one audit event, and queues it for the webhook when it is also a webhook event. */
  record(event: AuditEvent): void {
    const hook = appendAudit(this.sql, event);
    if (hook !== null) this.enqueueEvent(hook.type, hook.data, event.at);
  }
}
