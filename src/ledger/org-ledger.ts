/**
 * The consistent record of one organisation's keys and of every change to them:
 * the admin API reads and writes here, so a list right after a create or a revoke
 * shows it (KV, the edge index, is eventually consistent and cannot promise that).
 * The key guard stays the authority for enforcement; this is the book of record.
 * It reads no binding (`this.env` is never used), so it is declared without one.
 *
 * A reader's path: ledger-schema.ts (tables, migrated once per version); key-store.ts
 * (keys) and ledger-events.ts (audit-log.ts, and the webhook queue), written in one
 * transaction by the verbs below; usage-store.ts and anomaly-store.ts (what guards
 * report); ledger-alarm.ts (revocations, expiry notices, deliveries; alarm only).
 * Only the RPC verbs are on the prototype: helpers and test hooks are `#` members.
 */
import { DurableObject } from "cloudflare:workers";
import type { CreditAlert } from "../guard/credits";
import type { OrgLimit } from "../guard/org-limit";
import type { Granularity } from "../usage/usage-book";
import type { UsageReport } from "../usage/usage-report";
import { type Delivery, deleteWebhook, readWebhook, recentDeliveries, redeliver, type WebhookConfig, writeWebhook } from "../webhooks/webhook-store";
import { type Anomaly, type AnomalyStatus, acknowledgeAnomaly, listAnomalies } from "./anomaly-store";
import type { AuditEvent } from "./audit-log";
import { type AuditEntry, type AuditPageQuery, readAuditPage } from "./audit-pages";
import { type KeyName, withKeyNames } from "./key-names";
import type { KeyPageQuery } from "./key-pages";
import { insertKey, type KeyChange, type LedgerKey, type ListedKey, markSynced, readKey, readKeyPage, writeKey } from "./key-store";
import { type LeakMark, leakChange } from "./leak-mark";
import { type EnqueueEvent, LedgerAlarm, type Outbound } from "./ledger-alarm";
import { LedgerEvents } from "./ledger-events";
import { openLedgerSchema } from "./ledger-schema";
import { readOrgLimit, writeOrgLimit } from "./org-settings";
import { type KeyUsageView, keyUsageView, type NamedOrgUsage, orgUsage, storeReport } from "./usage-store";

export type { LedgerKey } from "./key-store";

export class OrgLedger extends DurableObject<unknown> {
  private readonly jobs: LedgerAlarm;
  private readonly sql: SqlStorage;
  /** The audit log and the webhook queue (ledger-events.ts). */
  readonly #events: LedgerEvents;

  constructor(ctx: DurableObjectState, env: unknown) {
    super(ctx, env);
    openLedgerSchema(ctx.storage);
    this.sql = ctx.storage.sql;
    this.jobs = new LedgerAlarm(ctx, {
      outbound: () => this.#events.outbound,
      updateKey: (id, change, event) => void this.updateKey(id, change, event),
      enqueueEvent: (type, data, at) => this.#events.enqueue(type, data, at),
    });
    this.#events = new LedgerEvents(this.sql, this.jobs);
  }

  /** Test hooks, with the object in hand (runInDurableObject): static, so no RPC method (test/rpc-surface.test.ts). */
  static hooks(ledger: OrgLedger): { enqueueEvent: EnqueueEvent; setOutbound(outbound: Outbound): void } {
    return {
      enqueueEvent: (type, data, at) => ledger.#events.enqueue(type, data, at),
      setOutbound: (outbound) => {
        ledger.#events.outbound = outbound;
      },
    };
  }

  addKey(key: LedgerKey, event: AuditEvent): void {
    this.ctx.storage.transactionSync(() => {
      insertKey(this.sql, key);
      this.#events.audit(event);
    });
    // Its expiry notices need the alarm at the right time.
    if (key.expiresAt !== null) void this.jobs.schedule().catch(() => {});
  }

  /** Undoes a create whose KV write failed (no half-made key is listed); `key.created` stays, the rollback follows it. */
  rollBackKey(id: string, event: AuditEvent): void {
    this.ctx.storage.transactionSync(() => {
      this.sql.exec("DELETE FROM keys WHERE id = ?", id);
      this.#events.audit(event);
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
      for (const finding of report.anomalies) this.#events.raiseAnomaly(report.keyId, finding, report.at);
    });
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
        this.#events.audit({ at, actor: by, action: "anomaly.acknowledged", keyId: a.keyId, requestId, detail: { anomalyId: a.id, type: a.type } });
      }
      return result === null ? null : (withKeyNames(this.sql, [result.anomaly])[0] ?? null);
    });
  }

  /** Writes a changed key and its audit events together. Only changed fields are passed. */
  updateKey(id: string, change: KeyChange, event: AuditEvent | AuditEvent[] | null): ListedKey | null {
    return this.ctx.storage.transactionSync(() => this.#applyChange(id, change, event === null ? [] : Array.isArray(event) ? event : [event]));
  }

  /** One key's change and its audit events; the caller holds the transaction. */
  #applyChange(id: string, change: KeyChange, events: AuditEvent[]): ListedKey | null {
    const current = this.getKey(id);
    if (!current) return null;
    const next = { ...current, ...change };
    writeKey(this.sql, next);
    for (const e of events) this.#events.audit(e);
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
      return this.#applyChange(id, change, events);
    });
  }

  /** Several key changes with their audit events, in one transaction and one RPC (the kill switch); unknown ids skipped. */
  updateKeys(updates: { id: string; change: KeyChange; events: AuditEvent[] }[]): ListedKey[] {
    return this.ctx.storage.transactionSync(() =>
      updates.flatMap((u) => {
        const next = this.#applyChange(u.id, u.change, u.events);
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
    const d = redeliver(this.sql, id, this.#events.outbound.now());
    if (d === null) return null;
    this.jobs.wakeAt(this.#events.outbound.now());
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
      this.#events.audit(event);
    });
  }

  /** One audit event with no key change (a create's rollback note, an org's credits), queued for the webhook too when it is one. */
  recordAudit(event: AuditEvent): void {
    this.#events.audit(event);
  }

  /**
   * A key guard's low-balance event (credits.ts creditAlerts), for the org's webhook. The one
   * event a guard raises, so the one the RPC takes: no other event can be queued through it.
   */
  raiseCreditAlert(type: CreditAlert, data: { keyId: string; scope: "key" | "org"; remaining: number; alertBelow: number | null }): string | null {
    return this.#events.enqueue(type, data);
  }
}
