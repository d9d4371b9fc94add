import { randomId } from "../keys/key-format";
import { addColumn } from "../storage/add-column";
import { nextAttemptAt } from "./backoff";
import type { WebhookEventType } from "./webhook-events";

/**
 * The org ledger's webhook tables: the org's one endpoint (with its signing
 * secret, which must be kept to sign), and the delivery queue. Plain functions
 * over the ledger's SQL storage; the ledger calls them inside its transactions.
 */
export interface WebhookConfig {
  org: string;
  url: string;
  events: WebhookEventType[];
  /** `whsec_…`: Standard Webhooks signing secret. */
  secret: string;
  createdAt: number;
}

export interface Delivery {
  id: string;
  type: WebhookEventType;
  payload: string;
  status: "pending" | "delivered" | "failed";
  attempts: number;
  createdAt: number;
  /** Start of the current retry horizon (the enqueue, or the last redeliver). */
  firstAt: number;
  nextAt: number | null;
  lastAttemptAt: number | null;
  lastStatus: number | null;
  lastError: string | null;
}

export function createWebhookTables(sql: SqlStorage): void {
  sql.exec(`CREATE TABLE IF NOT EXISTS webhook (
    id INTEGER PRIMARY KEY CHECK (id = 1), org TEXT NOT NULL, url TEXT NOT NULL, events TEXT NOT NULL,
    secret TEXT NOT NULL, created_at INTEGER NOT NULL)`);
  sql.exec(`CREATE TABLE IF NOT EXISTS webhook_deliveries (
    id TEXT PRIMARY KEY, type TEXT NOT NULL, payload TEXT NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL,
    created_at INTEGER NOT NULL, first_at INTEGER NOT NULL, next_at INTEGER, last_attempt_at INTEGER,
    last_status INTEGER, last_error TEXT)`);
  sql.exec("CREATE INDEX IF NOT EXISTS deliveries_due ON webhook_deliveries (status, next_at)");
  sql.exec("CREATE INDEX IF NOT EXISTS deliveries_recent ON webhook_deliveries (created_at)");
  // Bit set of expiry notices sent for the key (webhook-events.ts).
  addColumn(sql, "keys", "expiry_notices", "INTEGER NOT NULL DEFAULT 0");
}

export function readWebhook(sql: SqlStorage): WebhookConfig | null {
  const row = sql.exec("SELECT * FROM webhook WHERE id = 1").toArray()[0];
  if (!row) return null;
  return {
    org: String(row.org),
    url: String(row.url),
    events: JSON.parse(String(row.events)) as WebhookEventType[],
    secret: String(row.secret),
    createdAt: Number(row.created_at),
  };
}

export function writeWebhook(sql: SqlStorage, config: WebhookConfig): void {
  sql.exec(
    "INSERT OR REPLACE INTO webhook (id, org, url, events, secret, created_at) VALUES (1, ?, ?, ?, ?, ?)",
    config.org,
    config.url,
    JSON.stringify(config.events),
    config.secret,
    config.createdAt,
  );
}

export function deleteWebhook(sql: SqlStorage): boolean {
  return sql.exec("DELETE FROM webhook WHERE id = 1").rowsWritten > 0;
}

/** Queues one event for the org's webhook if it takes that type; answers the delivery id (the webhook-id), or null. */
export function enqueue(sql: SqlStorage, type: WebhookEventType, data: Record<string, unknown>, at: number): string | null {
  const hook = readWebhook(sql);
  if (hook === null || !hook.events.includes(type)) return null;
  const id = randomId("msg");
  const payload = JSON.stringify({ type, timestamp: new Date(at).toISOString(), data: { org: hook.org, ...data } });
  sql.exec(
    "INSERT INTO webhook_deliveries (id, type, payload, status, attempts, created_at, first_at, next_at) VALUES (?, ?, ?, 'pending', 0, ?, ?, ?)",
    id,
    type,
    payload,
    at,
    at,
    at,
  );
  return id;
}

function toDelivery(row: Record<string, SqlStorageValue>): Delivery {
  const num = (v: SqlStorageValue | undefined) => (v === null || v === undefined ? null : Number(v));
  return {
    id: String(row.id),
    type: String(row.type) as WebhookEventType,
    payload: String(row.payload),
    status: String(row.status) as Delivery["status"],
    attempts: Number(row.attempts),
    createdAt: Number(row.created_at),
    firstAt: Number(row.first_at),
    nextAt: num(row.next_at),
    lastAttemptAt: num(row.last_attempt_at),
    lastStatus: num(row.last_status),
    lastError: row.last_error === null || row.last_error === undefined ? null : String(row.last_error),
  };
}

export function dueDeliveries(sql: SqlStorage, now: number, limit: number): Delivery[] {
  return sql.exec("SELECT * FROM webhook_deliveries WHERE status = 'pending' AND next_at <= ? ORDER BY next_at LIMIT ?", now, limit).toArray().map(toDelivery);
}

export function recentDeliveries(sql: SqlStorage, limit: number): Delivery[] {
  return sql.exec("SELECT * FROM webhook_deliveries ORDER BY created_at DESC, id LIMIT ?", limit).toArray().map(toDelivery);
}

export function findDelivery(sql: SqlStorage, id: string): Delivery | null {
  const row = sql.exec("SELECT * FROM webhook_deliveries WHERE id = ?", id).toArray()[0];
  return row ? toDelivery(row) : null;
}

/** Records one attempt's outcome: delivered, or the next try by the backoff, or given up. */
export function recordAttempt(sql: SqlStorage, d: Delivery, outcome: { ok: boolean; status: number | null; error: string | null }, now: number): void {
  const attempts = d.attempts + 1;
  const next = outcome.ok ? null : nextAttemptAt(d.firstAt, attempts, now);
  const status = outcome.ok ? "delivered" : next === null ? "failed" : "pending";
  sql.exec(
    "UPDATE webhook_deliveries SET status = ?, attempts = ?, next_at = ?, last_attempt_at = ?, last_status = ?, last_error = ? WHERE id = ?",
    status,
    attempts,
    next,
    now,
    outcome.status,
    outcome.error,
    d.id,
  );
}

/** Sends a delivery again from now, with the same id and payload, and a fresh 24 h horizon. */
export function redeliver(sql: SqlStorage, id: string, now: number): Delivery | null {
  const written = sql.exec("UPDATE webhook_deliveries SET status = 'pending', next_at = ?, first_at = ? WHERE id = ?", now, now, id).rowsWritten;
  return written > 0 ? findDelivery(sql, id) : null;
}

/** The earliest pending delivery's time, or null. */
export function nextDeliveryAt(sql: SqlStorage): number | null {
  const row = sql.exec("SELECT MIN(next_at) AS at FROM webhook_deliveries WHERE status = 'pending'").toArray()[0];
  return row && row.at !== null && row.at !== undefined ? Number(row.at) : null;
}

/** Keeps the table bounded: deliveries finished more than a week ago are dropped. */
export function pruneDeliveries(sql: SqlStorage, now: number): void {
  sql.exec("DELETE FROM webhook_deliveries WHERE status != 'pending' AND created_at < ?", now - 7 * 86_400_000);
}

/** Gives up every pending delivery (the webhook was removed). */
export function abandonPending(sql: SqlStorage, reason: string, now: number): void {
  sql.exec("UPDATE webhook_deliveries SET status = 'failed', next_at = NULL, last_error = ?, last_attempt_at = ? WHERE status = 'pending'", reason, now);
}
