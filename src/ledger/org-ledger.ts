import { DurableObject } from "cloudflare:workers";
import { settleBounded } from "../bounded";
import type { Credits } from "../guard/credits";
import type { OrgLimit } from "../guard/org-limit";
import { randomId } from "../keys/key-format";
import { addColumn } from "../storage/add-column";
import type { AnomalyFinding } from "../usage/anomaly-rules";
import type { BucketView, Granularity, Locations } from "../usage/usage-book";
import type { UsageReport } from "../usage/usage-report";
import { DELIVERY_TIMEOUT_MS, deliver } from "../webhooks/deliver";
import { dueExpiryNotices, nextExpiryNoticeAt, type WebhookEventType } from "../webhooks/webhook-events";
import {
  abandonPending,
  createWebhookTables,
  type Delivery,
  deleteWebhook,
  dueDeliveries,
  enqueue,
  nextDeliveryAt,
  pruneDeliveries,
  readWebhook,
  recentDeliveries,
  recordAttempt,
  redeliver,
  type WebhookConfig,
  writeWebhook,
} from "../webhooks/webhook-store";
import { type Anomaly, type AnomalyStatus, acknowledgeAnomaly, createAnomalyTable, listAnomalies, upsertAnomaly } from "./anomaly-store";
import { type KeyName, withKeyNames } from "./key-names";
import { foldForSearch, type KeyPageQuery, keyPageSql, nextCursorOf } from "./key-pages";
import { bucketRows, createUsageTables, keyUsageRow, type NamedOrgUsage, orgUsage, storeReport } from "./usage-store";

/** One key as the org's ledger holds it. `hash` never leaves the Worker. */
export interface LedgerKey {
  id: string;
  hash: string;
  prefix: string;
  label: string;
  environment: "live" | "test";
  scopes: string[] | null;
  createdAt: number;
  createdBy: string;
  expiresAt: number | null;
  revokedAt: number | null;
  revokeAt: number | null;
  /** When an admin suspended the key; null while it is enabled. */
  disabledAt: number | null;
  /**
   * The credits as of creation or the last admin change (null: unlimited). The
   * key's guard holds the live balance; this is what KV and a new guard start from.
   */
  credits: Credits | null;
  /** Admin-set metadata for the origin; null: none. */
  meta: Record<string, unknown> | null;
  limit: number;
  windowSeconds: number;
  version: number;
  /** The version last written to KV; behind `version` after a partial failure. */
  kvVersion: number;
  /** Normalised CIDRs the key may be used from; null: any address. Fixed for the key's life. */
  allowedIps: string[] | null;
  /** Set when the key was reported leaked (first report); null otherwise. */
  leak: KeyLeak | null;
}

/** Where and by whom a key was reported leaked. */
export interface KeyLeak {
  at: number;
  /** Where the key was found, as the reporter said (may be null for a bare report). */
  url: string | null;
  /** Who reported it: `secret-scanning:github` or `report`. */
  source: string;
}

/**
 * What the audit log records. `key.creation_rolled_back` follows a `key.created`
 * whose edge-index write failed (the key never worked); `key.rollback_failed`
 * says that undoing it failed too, so the key's row may remain until revoked.
 */
export type AuditAction =
  | "key.created"
  | "key.creation_rolled_back"
  | "key.rollback_failed"
  | "key.revoked"
  | "key.revocation_scheduled"
  | "key.rate_limit_changed"
  | "key.disabled"
  | "key.enabled"
  | "key.credits_changed"
  | "key.meta_changed"
  | "org.rate_limit_set"
  | "org.rate_limit_cleared"
  | "key.leaked"
  | "key.leak_reported_again"
  | "anomaly.acknowledged";

/** A key with its last use as its guard last reported it (null: never, or not reported yet). */
export type ListedKey = LedgerKey & { lastUsedAt: number | null };

/** The fields of a key that change after creation. */
export type KeyChange = Partial<Pick<LedgerKey, "revokedAt" | "revokeAt" | "disabledAt" | "credits" | "meta" | "limit" | "windowSeconds" | "version" | "leak">>;

export interface AuditEvent {
  at: number;
  actor: string;
  action: AuditAction;
  keyId: string;
  requestId: string;
  detail: Record<string, unknown>;
}

type Row = Record<string, SqlStorageValue>;

function toKey(row: Row): LedgerKey {
  const num = (v: SqlStorageValue | undefined) => (v === null || v === undefined ? null : Number(v));
  return {
    id: String(row.id),
    hash: String(row.hash),
    prefix: String(row.prefix),
    label: String(row.label),
    environment: row.environment === "test" ? "test" : "live",
    scopes: row.scopes === null ? null : (JSON.parse(String(row.scopes)) as string[]),
    createdAt: Number(row.created_at),
    createdBy: String(row.created_by),
    expiresAt: num(row.expires_at),
    revokedAt: num(row.revoked_at),
    revokeAt: num(row.revoke_at),
    disabledAt: num(row.disabled_at),
    credits: row.credits === null || row.credits === undefined ? null : (JSON.parse(String(row.credits)) as Credits),
    meta: row.meta === null || row.meta === undefined ? null : (JSON.parse(String(row.meta)) as Record<string, unknown>),
    limit: Number(row.limit_n),
    windowSeconds: Number(row.window_s),
    version: Number(row.version),
    kvVersion: Number(row.kv_version),
    allowedIps: row.allowed_ips === null || row.allowed_ips === undefined ? null : (JSON.parse(String(row.allowed_ips)) as string[]),
    leak:
      row.leaked_at === null || row.leaked_at === undefined
        ? null
        : { at: Number(row.leaked_at), url: row.leak_url === null ? null : String(row.leak_url), source: String(row.leak_source) },
  };
}

function listed(row: Row): ListedKey {
  return { ...toKey(row), lastUsedAt: row.last_used_at === null || row.last_used_at === undefined ? null : Number(row.last_used_at) };
}

/**
 * The consistent record of one organisation's keys and of every change to them:
 * the admin API reads and writes here, so a list right after a create or a revoke
 * shows it (KV, the edge index, is eventually consistent and cannot promise that).
 * The key guard stays the authority for enforcement; this is the book of record.
 * It reads no binding (`this.env` is never used), so it is declared without one.
 */
export class OrgLedger extends DurableObject<unknown> {
  constructor(ctx: DurableObjectState, env: unknown) {
    super(ctx, env);
    ctx.storage.sql.exec(`CREATE TABLE IF NOT EXISTS keys (
      id TEXT PRIMARY KEY, hash TEXT NOT NULL, prefix TEXT NOT NULL, label TEXT NOT NULL, environment TEXT NOT NULL,
      scopes TEXT, created_at INTEGER NOT NULL, created_by TEXT NOT NULL, expires_at INTEGER, revoked_at INTEGER,
      revoke_at INTEGER, limit_n INTEGER NOT NULL, window_s INTEGER NOT NULL, version INTEGER NOT NULL,
      kv_version INTEGER NOT NULL)`);
    addColumn(ctx.storage.sql, "keys", "allowed_ips", "TEXT");
    addColumn(ctx.storage.sql, "keys", "disabled_at", "INTEGER");
    addColumn(ctx.storage.sql, "keys", "credits", "TEXT");
    addColumn(ctx.storage.sql, "keys", "leaked_at", "INTEGER");
    addColumn(ctx.storage.sql, "keys", "leak_url", "TEXT");
    addColumn(ctx.storage.sql, "keys", "leak_source", "TEXT");
    addColumn(ctx.storage.sql, "keys", "meta", "TEXT");
    // The label as the listing's search compares it (key-pages.ts). Filled for the keys made before it
    // existed once, when the column is added (not on every start: that would read every key row each time),
    // in one transaction, so that a start cut short leaves neither the column nor half the labels.
    ctx.storage.transactionSync(() => {
      if (!addColumn(ctx.storage.sql, "keys", "label_fold", "TEXT")) return;
      for (const row of ctx.storage.sql.exec("SELECT id, label FROM keys").toArray()) {
        ctx.storage.sql.exec("UPDATE keys SET label_fold = ? WHERE id = ?", foldForSearch(String(row.label)), row.id);
      }
    });
    // One row: the org's shared rate limit (src/guard/org-limit.ts), JSON; absent: none.
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS org_settings (name TEXT PRIMARY KEY, value TEXT NOT NULL)");
    ctx.storage.sql.exec(`CREATE TABLE IF NOT EXISTS audit (
      seq INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
      key_id TEXT NOT NULL, request_id TEXT NOT NULL, detail TEXT NOT NULL)`);
    ctx.storage.sql.exec("CREATE INDEX IF NOT EXISTS keys_by_created ON keys (created_at, id)");
    createUsageTables(ctx.storage.sql);
    createAnomalyTable(ctx.storage.sql);
    createWebhookTables(ctx.storage.sql);
  }

  /**
   * The clock and the network as webhook delivery sees them. Tests replace them
   * (runInDurableObject) to drive retries with a fake clock and a fake receiver.
   */
  outbound: { now: () => number; fetch: typeof fetch; timeoutMs: number } = {
    now: () => Date.now(),
    fetch: (input, init) => fetch(input, init),
    timeoutMs: DELIVERY_TIMEOUT_MS,
  };

  addKey(key: LedgerKey, event: AuditEvent): void {
    this.ctx.storage.transactionSync(() => {
      this.ctx.storage.sql.exec(
        `INSERT INTO keys (id, hash, prefix, label, environment, scopes, created_at, created_by, expires_at, revoked_at, revoke_at, limit_n, window_s, version, kv_version, allowed_ips, disabled_at, credits, meta, label_fold)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        key.id,
        key.hash,
        key.prefix,
        key.label,
        key.environment,
        key.scopes === null ? null : JSON.stringify(key.scopes),
        key.createdAt,
        key.createdBy,
        key.expiresAt,
        key.revokedAt,
        key.revokeAt,
        key.limit,
        key.windowSeconds,
        key.version,
        key.kvVersion,
        key.allowedIps === null ? null : JSON.stringify(key.allowedIps),
        key.disabledAt,
        key.credits === null ? null : JSON.stringify(key.credits),
        key.meta === null ? null : JSON.stringify(key.meta),
        foldForSearch(key.label),
      );
      this.record(event);
    });
    // Its expiry notices need the alarm at the right time.
    if (key.expiresAt !== null) void this.schedule().catch(() => {});
  }

  /**
   * Undoes a create whose KV write failed, so that no half-made key is listed.
   * The audit log is append-only: the `key.created` entry stays, and the
   * rollback is recorded after it in the same transaction.
   */
  rollBackKey(id: string, event: AuditEvent): void {
    this.ctx.storage.transactionSync(() => {
      this.ctx.storage.sql.exec("DELETE FROM keys WHERE id = ?", id);
      this.record(event);
    });
  }

  getKey(id: string): ListedKey | null {
    const row = this.ctx.storage.sql
      .exec("SELECT k.*, u.last_used_at AS last_used_at FROM keys k LEFT JOIN key_usage u ON u.key_id = k.id WHERE k.id = ?", id)
      .toArray()[0];
    return row ? listed(row) : null;
  }

  /** One page of keys (key-pages.ts): a single query whatever the org's size. */
  listKeyPage(query: KeyPageQuery): { keys: ListedKey[]; nextCursor: string | null } {
    const { sql, args } = keyPageSql(query);
    const rows = this.ctx.storage.sql.exec(sql, ...args).toArray();
    return { keys: rows.slice(0, query.limit).map(listed), nextCursor: nextCursorOf(rows, query) };
  }

  /**
   * A key guard's usage summary (at most one a minute per key, from its alarm):
   * stored, and its findings raised. Reports for keys this org does not hold are dropped.
   */
  report(report: UsageReport): void {
    if (this.ctx.storage.sql.exec("SELECT 1 FROM keys WHERE id = ?", report.keyId).toArray().length === 0) return;
    this.ctx.storage.transactionSync(() => {
      storeReport(this.ctx.storage.sql, report);
      for (const finding of report.anomalies) this.raiseAnomaly(report.keyId, finding, report.at);
    });
  }

  /**
   * The one place an anomaly is raised: opens a flag, or updates the open one
   * of that type for the key. Anything that must follow a raised anomaly (a
   * notification, a webhook event) belongs here and nowhere else.
   */
  private raiseAnomaly(keyId: string, finding: AnomalyFinding, at: number): { anomaly: Anomaly; opened: boolean } {
    const raised = upsertAnomaly(this.ctx.storage.sql, keyId, finding, at, () => randomId("anm"));
    // Announced once per flag, when it opens (updates of an open flag are not news).
    if (raised.opened) this.enqueueEvent("usage.anomaly", { keyId, anomaly: raised.anomaly }, at);
    return raised;
  }

  /** One key's reported usage (hour or day buckets in [from, to)); null when the org has no such key. */
  keyUsage(
    keyId: string,
    span: Exclude<Granularity, "minute">,
    from: number,
    to: number,
  ): { key: ListedKey; buckets: BucketView[]; locations: Locations; reportedAt: number | null } | null {
    const key = this.getKey(keyId);
    if (!key) return null;
    const { locations, reportedAt } = keyUsageRow(this.ctx.storage.sql, keyId);
    const buckets = bucketRows(this.ctx.storage.sql, span, from, to, keyId).map(({ start, admitted, refused }) => ({ start, admitted, refused }));
    return { key, buckets, locations, reportedAt };
  }

  /** The org's reported usage over [from, to), for its usage view. */
  orgUsage(span: Exclude<Granularity, "minute">, from: number, to: number, top = 10): NamedOrgUsage {
    const usage = orgUsage(this.ctx.storage.sql, span, from, to, top);
    return { ...usage, topKeys: withKeyNames(this.ctx.storage.sql, usage.topKeys) };
  }

  anomalies(status: AnomalyStatus, limit = 500): (Anomaly & KeyName)[] {
    return withKeyNames(this.ctx.storage.sql, listAnomalies(this.ctx.storage.sql, status, limit));
  }

  /** Acknowledges a flag and audits it (only the first acknowledgement is recorded); null: no such flag. */
  acknowledgeAnomaly(id: string, by: string, requestId: string, at: number): (Anomaly & KeyName) | null {
    return this.ctx.storage.transactionSync(() => {
      const result = acknowledgeAnomaly(this.ctx.storage.sql, id, by, at);
      if (result?.changed) {
        const a = result.anomaly;
        this.record({ at, actor: by, action: "anomaly.acknowledged", keyId: a.keyId, requestId, detail: { anomalyId: a.id, type: a.type } });
      }
      return result === null ? null : (withKeyNames(this.ctx.storage.sql, [result.anomaly])[0] ?? null);
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
    this.ctx.storage.sql.exec(
      "UPDATE keys SET revoked_at = ?, revoke_at = ?, disabled_at = ?, credits = ?, meta = ?, limit_n = ?, window_s = ?, version = ?, leaked_at = ?, leak_url = ?, leak_source = ? WHERE id = ?",
      next.revokedAt,
      next.revokeAt,
      next.disabledAt,
      next.credits === null ? null : JSON.stringify(next.credits),
      next.meta === null ? null : JSON.stringify(next.meta),
      next.limit,
      next.windowSeconds,
      next.version,
      next.leak?.at ?? null,
      next.leak?.url ?? null,
      next.leak?.source ?? null,
      id,
    );
    for (const e of events) this.record(e);
    // A scheduled revocation is recorded by the alarm when it comes due (recordDueRevocations).
    if (next.revokedAt === null && next.revokeAt !== null && next.revokeAt !== current.revokeAt) this.wakeAt(next.revokeAt);
    return next;
  }

  /**
   * Several key changes, each with its audit events, in one transaction and one
   * RPC (the org kill switch). Unknown ids are skipped. Answers the changed keys.
   */
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
      for (const e of entries) this.ctx.storage.sql.exec("UPDATE keys SET kv_version = MAX(kv_version, ?) WHERE id = ?", e.version, e.id);
    });
  }

  /** Notes that KV now holds `version` of the key's record. */
  markSynced(id: string, version: number): void {
    this.ctx.storage.sql.exec("UPDATE keys SET kv_version = MAX(kv_version, ?) WHERE id = ?", version, id);
  }

  /** The latest events, newest first, each with its key's label and prefix. */
  audit(limit = 500): (AuditEvent & KeyName)[] {
    const events = this.ctx.storage.sql
      .exec("SELECT * FROM audit ORDER BY seq DESC LIMIT ?", limit)
      .toArray()
      .map((row) => ({
        at: Number(row.at),
        actor: String(row.actor),
        action: String(row.action) as AuditAction,
        keyId: String(row.key_id),
        requestId: String(row.request_id),
        detail: JSON.parse(String(row.detail)) as Record<string, unknown>,
      }));
    return withKeyNames(this.ctx.storage.sql, events);
  }

  /**
   * THE way to raise an event for the org's webhook (key events from the audit
   * log, usage anomalies, expiry notices, and anything added later): queued in
   * this ledger's storage, in the caller's transaction when there is one, and
   * delivered by the alarm, never on a request's path. Answers the delivery id
   * (its webhook-id), or null when no webhook takes this event type.
   */
  enqueueEvent(type: WebhookEventType, data: { keyId: string } & Record<string, unknown>, at: number = this.outbound.now()): string | null {
    const id = enqueue(this.ctx.storage.sql, type, data, at);
    if (id !== null) this.wakeAt(at);
    return id;
  }

  /** Sets the org's webhook (replacing any before it). */
  setWebhook(config: WebhookConfig): void {
    writeWebhook(this.ctx.storage.sql, config);
    void this.schedule();
  }

  getWebhook(): Omit<WebhookConfig, "secret"> | null {
    const hook = readWebhook(this.ctx.storage.sql);
    if (hook === null) return null;
    const { secret: _secret, ...rest } = hook;
    return rest;
  }

  removeWebhook(): boolean {
    return deleteWebhook(this.ctx.storage.sql);
  }

  deliveries(limit = 100): Omit<Delivery, "payload">[] {
    return recentDeliveries(this.ctx.storage.sql, limit).map(({ payload: _payload, ...rest }) => rest);
  }

  redeliver(id: string): Omit<Delivery, "payload"> | null {
    const d = redeliver(this.ctx.storage.sql, id, this.outbound.now());
    if (d === null) return null;
    this.wakeAt(this.outbound.now());
    const { payload: _payload, ...rest } = d;
    return rest;
  }

  /**
   * Delivers what is due (at-least-once: a delivery is marked only after its
   * receiver answered 2xx, so a crash mid-attempt means it is sent again with
   * the same webhook-id), raises expiry notices that have come due, and sets
   * the alarm for the next thing to do.
   */
  override async alarm(): Promise<void> {
    const sql = this.ctx.storage.sql;
    const now = this.outbound.now();
    this.recordDueRevocations(now);
    const hook = readWebhook(sql);
    if (hook?.events.includes("key.expiring")) this.raiseExpiryNotices(now);
    const due = dueDeliveries(sql, now, 100);
    if (hook === null) {
      abandonPending(sql, "no webhook configured", now);
    } else {
      await settleBounded(due, 8, async (d) => {
        const outcome = await deliver(
          { url: hook.url, secret: hook.secret, id: d.id, payload: d.payload, now, timeoutMs: this.outbound.timeoutMs },
          this.outbound.fetch,
        );
        recordAttempt(sql, d, outcome, this.outbound.now());
      });
    }
    pruneDeliveries(sql, now);
    await this.schedule();
  }

  /**
   * A scheduled revocation (rotation with a grace period) takes effect at its
   * time without anyone calling: the guards and the gateway already refuse the
   * key from then on (they compare `revokeAt` with their clock). What remains is
   * the book of record: the key becomes revoked at that time, and the audit log
   * and the webhook get the `key.revoked` an immediate revocation would have
   * given, with the time it took effect. Each key once: its row no longer has a
   * pending `revoke_at` after this.
   */
  private recordDueRevocations(now: number): void {
    const rows = this.ctx.storage.sql
      .exec("SELECT id, revoke_at FROM keys WHERE revoked_at IS NULL AND revoke_at IS NOT NULL AND revoke_at <= ?", now)
      .toArray();
    for (const row of rows) {
      const id = String(row.id);
      const at = Number(row.revoke_at);
      this.updateKey(
        id,
        { revokedAt: at, revokeAt: null },
        {
          at,
          actor: SCHEDULE_ACTOR,
          action: "key.revoked",
          keyId: id,
          // No request made it; the id names the alarm's run, so the entry reads like any other.
          requestId: `schedule-${now}`,
          detail: { scheduled: true, recordedAt: new Date(now).toISOString() },
        },
      );
    }
  }

  private raiseExpiryNotices(now: number): void {
    const rows = this.ctx.storage.sql
      .exec("SELECT id, created_at, expires_at, expiry_notices FROM keys WHERE expires_at IS NOT NULL AND revoked_at IS NULL AND expires_at > ?", now)
      .toArray();
    for (const row of rows) {
      const key = { createdAt: Number(row.created_at), expiresAt: Number(row.expires_at) };
      const sent = Number(row.expiry_notices);
      const { due, sent: next } = dueExpiryNotices(key, sent, now);
      if (next === sent) continue;
      this.ctx.storage.transactionSync(() => {
        this.ctx.storage.sql.exec("UPDATE keys SET expiry_notices = ? WHERE id = ?", next, String(row.id));
        for (const notice of due) this.enqueueEvent("key.expiring", { keyId: String(row.id), expiresAt: new Date(key.expiresAt).toISOString(), notice }, now);
      });
    }
  }

  /** Sets the alarm for the next due delivery or expiry notice (none: no alarm). */
  private async schedule(): Promise<void> {
    const sql = this.ctx.storage.sql;
    const now = this.outbound.now();
    let next = nextDeliveryAt(sql);
    const revocation = sql.exec("SELECT MIN(revoke_at) AS at FROM keys WHERE revoked_at IS NULL AND revoke_at IS NOT NULL").toArray()[0];
    if (revocation?.at !== null && revocation?.at !== undefined) next = Math.min(next ?? Number.POSITIVE_INFINITY, Math.max(now, Number(revocation.at)));
    if (readWebhook(sql)?.events.includes("key.expiring")) {
      const rows = sql
        .exec("SELECT created_at, expires_at, expiry_notices FROM keys WHERE expires_at IS NOT NULL AND revoked_at IS NULL AND expires_at > ?", now)
        .toArray();
      for (const row of rows) {
        const at = nextExpiryNoticeAt({ createdAt: Number(row.created_at), expiresAt: Number(row.expires_at) }, Number(row.expiry_notices), now);
        if (at !== null && (next === null || at < next)) next = at;
      }
    }
    if (next === null) await this.ctx.storage.deleteAlarm();
    else await this.ctx.storage.setAlarm(next);
  }

  /** The earliest wake-up already being set, so that a batch of events (the kill switch) sets the alarm once. */
  private waking: number | null = null;

  /** Makes sure the alarm fires no later than `at` (without waiting on the caller's path). */
  private wakeAt(at: number): void {
    if (this.waking !== null && this.waking <= at) return;
    this.waking = at;
    void (async () => {
      const current = await this.ctx.storage.getAlarm();
      if (current === null || current > at) await this.ctx.storage.setAlarm(at);
    })()
      .catch(() => {})
      .finally(() => {
        if (this.waking === at) this.waking = null;
      });
  }

  /** Appends one event. Nothing in Keyward updates or deletes an audit row. */
  /** The org's shared rate limit, or null. */
  getOrgLimit(): OrgLimit | null {
    const row = this.ctx.storage.sql.exec("SELECT value FROM org_settings WHERE name = 'rate_limit'").toArray()[0];
    return row ? (JSON.parse(String(row.value)) as OrgLimit) : null;
  }

  /** Sets (or, with null, removes) the org's shared rate limit, with its audit event. */
  setOrgLimit(limit: OrgLimit | null, event: AuditEvent): void {
    this.ctx.storage.transactionSync(() => {
      if (limit === null) this.ctx.storage.sql.exec("DELETE FROM org_settings WHERE name = 'rate_limit'");
      else this.ctx.storage.sql.exec("INSERT OR REPLACE INTO org_settings (name, value) VALUES ('rate_limit', ?)", JSON.stringify(limit));
      this.record(event);
    });
  }

  record(event: AuditEvent): void {
    this.ctx.storage.sql.exec(
      "INSERT INTO audit (at, actor, action, key_id, request_id, detail) VALUES (?, ?, ?, ?, ?, ?)",
      event.at,
      event.actor,
      event.action,
      event.keyId,
      event.requestId,
      JSON.stringify(event.detail),
    );
    const type = WEBHOOK_EVENT_OF_ACTION[event.action];
    if (type !== undefined) this.enqueueEvent(type, { ...event.detail, keyId: event.keyId, actor: event.actor }, event.at);
  }
}

/** Audit actor of what a schedule did on its own (a scheduled revocation coming due). */
export const SCHEDULE_ACTOR = "keyward:schedule";

/** Audit actions that are also webhook events, under the event's name. */
const WEBHOOK_EVENT_OF_ACTION: Partial<Record<AuditAction, WebhookEventType>> = {
  "key.created": "key.created",
  "key.revoked": "key.revoked",
  "key.leaked": "key.leaked",
};
