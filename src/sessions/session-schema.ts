import { migrateOnce } from "../storage/schema-version";

/** Bump with every change to `migrate` below (docs/storage.md lists the tables). */
export const SESSION_SCHEMA_VERSION = 2;

/**
 * The tables of an org's ConsoleSessions object: open sessions, and portal links
 * until they are long expired. `oidc_flows` (version 2) holds sign-ins at the
 * identity provider under way; only the object named SIGN_IN_FLOWS writes it.
 */
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
    sql.exec(`CREATE TABLE IF NOT EXISTS oidc_flows (
      state_hash TEXT PRIMARY KEY,
      nonce TEXT NOT NULL,
      verifier TEXT NOT NULL,
      redirect_uri TEXT NOT NULL,
      created_at INTEGER NOT NULL,
      expires_at INTEGER NOT NULL
    )`);
  });
}
