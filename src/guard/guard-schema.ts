import { addColumn } from "../storage/add-column";
import { migrateOnce } from "../storage/schema-version";
import { createHoldsTable } from "./hold-book";

/**
 * The guard's tables (docs/storage.md). Bump GUARD_SCHEMA_VERSION with any
 * change to migrateGuard: a wake runs it only when the stored version is older
 * (src/storage/schema-version.ts); an up-to-date guard's wake reads the version
 * with its one-row tables, in one statement (wakeRead).
 */
export const GUARD_SCHEMA_VERSION = 4;

/** Creates the guard's tables or brings them up to date, once per schema version. */
export function openGuardSchema(storage: DurableObjectStorage): void {
  migrateOnce(storage, GUARD_SCHEMA_VERSION, () => migrateGuard(storage.sql));
}

/**
 * What a wake reads in one statement: the schema version, the state row's columns
 * (`key_id` null: no state row), the usage row (`usage_data`), the lease book
 * (`lease_book`) and whether any hold is kept (`has_holds`). Each of those was a
 * statement of its own, and a many-keys guard wakes for nearly every request
 * (docs/performance.md); the admissions are the only other read.
 */
export type WakeRow = Record<string, SqlStorageValue>;

const WAKE_READ = `SELECT s.version AS schema_version, u.data AS usage_data, l.book AS lease_book,
  EXISTS (SELECT 1 FROM holds) AS has_holds, g.*
  FROM keyward_schema s LEFT JOIN guard_state g ON g.id = 1 LEFT JOIN usage u ON u.id = 1 LEFT JOIN guard_leases l ON l.id = 1
  WHERE s.id = 1`;

/** The wake's one read, after migrating when the stored schema is older (or absent, when the read fails for a missing table). */
export function wakeRead(storage: DurableObjectStorage): WakeRow {
  const row = readOnce(storage.sql);
  if (row && Number(row.schema_version) >= GUARD_SCHEMA_VERSION) return row;
  openGuardSchema(storage);
  const migrated = readOnce(storage.sql);
  if (!migrated) throw new Error("guard schema: no version row after migrating");
  return migrated;
}

function readOnce(sql: SqlStorage): WakeRow | undefined {
  try {
    return sql.exec(WAKE_READ).toArray()[0];
  } catch {
    // A table of the read does not exist yet: new storage, or storage from before schema versions.
    return undefined;
  }
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
