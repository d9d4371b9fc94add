/**
 * Runs an object's storage migrations only when its stored schema is older than
 * the code's. A Durable Object's constructor runs on every wake (after each
 * eviction), and `CREATE TABLE IF NOT EXISTS` plus one `pragma_table_info` query
 * per added column cost a dozen statements each time: for a key used a few times
 * a minute that was most of its guard's work (docs/performance.md). Now a wake
 * reads one row.
 *
 * `migrate` must stay idempotent (CREATE ... IF NOT EXISTS, addColumn): storage
 * written before this version table existed runs it once, as does storage of an
 * older version. Bump `version` with every change to what `migrate` does.
 */
export function migrateOnce(storage: DurableObjectStorage, version: number, migrate: () => void): void {
  const sql = storage.sql;
  if (storedVersion(sql) >= version) return;
  // One transaction: a wake cut short leaves the old version recorded, never a new one over half a migration.
  storage.transactionSync(() => {
    migrate();
    sql.exec("CREATE TABLE IF NOT EXISTS keyward_schema (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL)");
    sql.exec("INSERT OR REPLACE INTO keyward_schema (id, version) VALUES (1, ?)", version);
  });
}

/** The recorded schema version; 0 when none is (new storage, or written before versions were kept). */
export function storedVersion(sql: SqlStorage): number {
  try {
    const row = sql.exec("SELECT version FROM keyward_schema WHERE id = 1").toArray()[0];
    return row ? Number(row.version) : 0;
  } catch {
    // No such table yet.
    return 0;
  }
}
