import { addColumn } from "../storage/add-column";
import { migrateOnce } from "../storage/schema-version";
import { createHoldsTable } from "./hold-book";

/**
 * The guard's tables (docs/storage.md). Bump GUARD_SCHEMA_VERSION with any
 * change to migrateGuard: a wake runs it only when the stored version is older
 * (src/storage/schema-version.ts), so a wake of an up-to-date guard reads one row.
 */
export const GUARD_SCHEMA_VERSION = 4;

/** Creates the guard's tables or brings them up to date, once per schema version. */
export function openGuardSchema(storage: DurableObjectStorage): void {
  migrateOnce(storage, GUARD_SCHEMA_VERSION, () => migrateGuard(storage.sql));
}

/** Idempotent: storage written before schema versions were kept runs it once. */
function migrateGuard(sql: SqlStorage): void {
  sql.exec(`CREATE TABLE IF NOT EXISTS guard_state (
    id INTEGER PRIMARY KEY CHECK (id = 1), key_id TEXT NOT NULL, version INTEGER NOT NULL,
    revoked INTEGER NOT NULL, revoked_at INTEGER, revoke_at INTEGER, limit_n INTEGER NOT NULL,
    window_ms INTEGER NOT NULL, expires_at INTEGER)`);
  addColumn(sql, "guard_state", "disabled", "INTEGER NOT NULL DEFAULT 0");
  // NULL: unlimited. JSON of Credits otherwise.
  addColumn(sql, "guard_state", "credits", "TEXT");
  // NULL: never set here; otherwise JSON (an object, or null once cleared).
  addColumn(sql, "guard_state", "meta", "TEXT");
  addColumn(sql, "guard_state", "org_limit", "TEXT");
  // 1: a limiter with no key behind it, whose storage ends once its window is empty (storage-end.ts).
  addColumn(sql, "guard_state", "ends_when_idle", "INTEGER NOT NULL DEFAULT 0");
  // NULL: never rolled (its one secret is accepted). JSON of KeySecrets otherwise (key-secrets.ts).
  addColumn(sql, "guard_state", "secrets", "TEXT");
  // A pool of rows reused once their batch has left the window, so that a flush
  // writes exactly one row (an update, or an insert while the pool grows).
  sql.exec("CREATE TABLE IF NOT EXISTS admissions (slot INTEGER PRIMARY KEY, newest INTEGER NOT NULL, stamps TEXT NOT NULL)");
  // Usage rides in the row a flush writes anyway (no extra row per admission);
  // the one-row usage table is written by the report alarm, for refusal-only traffic.
  addColumn(sql, "admissions", "usage", "TEXT");
  sql.exec("CREATE TABLE IF NOT EXISTS usage (id INTEGER PRIMARY KEY CHECK (id = 1), data TEXT NOT NULL)");
  // Version 2, metering (docs/metering.md): named windows (JSON), the org whose credits admissions spend, holds.
  addColumn(sql, "guard_state", "limits", "TEXT");
  addColumn(sql, "guard_state", "org_credits", "TEXT");
  createHoldsTable(sql);
  // Version 4, local admission (lease-desk.ts): the leases granted to locations, one row.
  sql.exec("CREATE TABLE IF NOT EXISTS guard_leases (id INTEGER PRIMARY KEY CHECK (id = 1), book TEXT NOT NULL)");
}
