import { addColumn } from "../storage/add-column";
import { migrateOnce } from "../storage/schema-version";
import { createWebhookTables } from "../webhooks/webhook-store";
import { createAnomalyTable } from "./anomaly-store";
import { foldForSearch } from "./key-pages";
import { createUsageTables } from "./usage-store";

/**
 * The ledger's tables (docs/storage.md). Bump LEDGER_SCHEMA_VERSION with any
 * change to migrateLedger: a wake runs it only when the stored version is older
 * (src/storage/schema-version.ts), so a wake of an up-to-date ledger reads one
 * row instead of running about 25 statements.
 */
export const LEDGER_SCHEMA_VERSION = 4;

/** Creates the ledger's tables or brings them up to date, once per schema version, in one transaction. */
export function openLedgerSchema(storage: DurableObjectStorage): void {
  migrateOnce(storage, LEDGER_SCHEMA_VERSION, () => migrateLedger(storage.sql));
}

/** Idempotent: storage written before schema versions were kept runs it once. */
function migrateLedger(sql: SqlStorage): void {
  sql.exec(`CREATE TABLE IF NOT EXISTS keys (
    id TEXT PRIMARY KEY, hash TEXT NOT NULL, prefix TEXT NOT NULL, label TEXT NOT NULL, environment TEXT NOT NULL,
    scopes TEXT, created_at INTEGER NOT NULL, created_by TEXT NOT NULL, expires_at INTEGER, revoked_at INTEGER,
    revoke_at INTEGER, limit_n INTEGER NOT NULL, window_s INTEGER NOT NULL, version INTEGER NOT NULL,
    kv_version INTEGER NOT NULL)`);
  addColumn(sql, "keys", "allowed_ips", "TEXT");
  addColumn(sql, "keys", "disabled_at", "INTEGER");
  addColumn(sql, "keys", "credits", "TEXT");
  addColumn(sql, "keys", "leaked_at", "INTEGER");
  addColumn(sql, "keys", "leak_url", "TEXT");
  addColumn(sql, "keys", "leak_source", "TEXT");
  addColumn(sql, "keys", "meta", "TEXT");
  // 'local': admitted from leases near the callers (src/guard/lease-book.ts); NULL: central.
  addColumn(sql, "keys", "admission", "TEXT");
  // The label as the listing's search compares it (key-pages.ts). Filled for the keys made before it
  // existed once, when the column is added (not on every wake: that would read every key row each time).
  // migrateOnce's transaction holds the column and the labels together: a wake cut short leaves neither.
  if (addColumn(sql, "keys", "label_fold", "TEXT")) {
    for (const row of sql.exec("SELECT id, label FROM keys").toArray()) {
      sql.exec("UPDATE keys SET label_fold = ? WHERE id = ?", foldForSearch(String(row.label)), row.id);
    }
  }
  // One row: the org's shared rate limit (src/guard/org-limit.ts), JSON; absent: none.
  sql.exec("CREATE TABLE IF NOT EXISTS org_settings (name TEXT PRIMARY KEY, value TEXT NOT NULL)");
  sql.exec(`CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
    key_id TEXT NOT NULL, request_id TEXT NOT NULL, detail TEXT NOT NULL)`);
  // Version 2: how many repeats an entry stands for (audit-pages.ts foldRepeat; 1 for every other
  // entry), and the index that serves the audit API's key filter and the search for a repeat to fold into.
  addColumn(sql, "audit", "count", "INTEGER NOT NULL DEFAULT 1");
  sql.exec("CREATE INDEX IF NOT EXISTS audit_by_key ON audit (key_id, seq)");
  sql.exec("CREATE INDEX IF NOT EXISTS keys_by_created ON keys (created_at, id)");
  // Version 4: usage in one row per key and day (usage_days), the per-bucket usage_buckets folded into it and dropped.
  createUsageTables(sql);
  createAnomalyTable(sql);
  createWebhookTables(sql);
}
