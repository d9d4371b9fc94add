import { migrateOnce } from "../storage/schema-version";

/** Bump with every change to `migrate` below (docs/storage.md lists the tables). */
export const SESSION_SCHEMA_VERSION = 1;

/** The tables of an org's ConsoleSessions object: open sessions, and portal links until they are long expired. */
export function migrateSessions(storage: DurableObjectStorage): void {
  migrateOnce(storage, SESSION_SCHEMA_VERSION, () => {
    const sql = storage.sql;
    sql.exec(`CREATE TABLE IF NOT EXISTS sessions (
      id TEXT PRIMARY KEY,
      hash TEXT NOT NULL UNIQUE,
      via TEXT NOT NULL,
      subject TEXT NOT NULL,
      role TEXT NOT NULL,
      return_url TEXT,
      created_at INTEGER NOT NULL,
      seen_at INTEGER NOT NULL,
      idle_until INTEGER NOT NULL,
      ends_at INTEGER NOT NULL
    )`);
    sql.exec(`CREATE TABLE IF NOT EXISTS portal_links (
      hash TEXT PRIMARY KEY,
      subject TEXT NOT NULL,
      role TEXT NOT NULL,
      return_url TEXT,
      created_at INTEGER NOT NULL,
      expires_at INTEGER NOT NULL,
      used_at INTEGER
    )`);
  });
}
