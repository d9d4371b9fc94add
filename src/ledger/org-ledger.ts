import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env";
import type { Credits } from "../guard/credits";
import { addColumn } from "../storage/add-column";

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
  | "key.leaked"
  | "key.leak_reported_again";

/** The fields of a key that change after creation. */
export type KeyChange = Partial<Pick<LedgerKey, "revokedAt" | "revokeAt" | "disabledAt" | "credits" | "limit" | "windowSeconds" | "version" | "leak">>;

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

/**
 * The consistent record of one organisation's keys and of every change to them:
 * the admin API reads and writes here, so a list right after a create or a revoke
 * shows it (KV, the edge index, is eventually consistent and cannot promise that).
 * The key guard stays the authority for enforcement; this is the book of record.
 */
export class OrgLedger extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
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
    ctx.storage.sql.exec(`CREATE TABLE IF NOT EXISTS audit (
      seq INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
      key_id TEXT NOT NULL, request_id TEXT NOT NULL, detail TEXT NOT NULL)`);
  }

  addKey(key: LedgerKey, event: AuditEvent): void {
    this.ctx.storage.transactionSync(() => {
      this.ctx.storage.sql.exec(
        `INSERT INTO keys (id, hash, prefix, label, environment, scopes, created_at, created_by, expires_at, revoked_at, revoke_at, limit_n, window_s, version, kv_version, allowed_ips, disabled_at, credits)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
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
      );
      this.record(event);
    });
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

  getKey(id: string): LedgerKey | null {
    const row = this.ctx.storage.sql.exec("SELECT * FROM keys WHERE id = ?", id).toArray()[0];
    return row ? toKey(row) : null;
  }

  listKeys(): LedgerKey[] {
    return this.ctx.storage.sql.exec("SELECT * FROM keys ORDER BY created_at DESC, id").toArray().map(toKey);
  }

  /** Writes a changed key and its audit events together. Only changed fields are passed. */
  updateKey(id: string, change: KeyChange, event: AuditEvent | AuditEvent[] | null): LedgerKey | null {
    const current = this.getKey(id);
    if (!current) return null;
    const next = { ...current, ...change };
    this.ctx.storage.transactionSync(() => {
      this.ctx.storage.sql.exec(
        "UPDATE keys SET revoked_at = ?, revoke_at = ?, disabled_at = ?, credits = ?, limit_n = ?, window_s = ?, version = ?, leaked_at = ?, leak_url = ?, leak_source = ? WHERE id = ?",
        next.revokedAt,
        next.revokeAt,
        next.disabledAt,
        next.credits === null ? null : JSON.stringify(next.credits),
        next.limit,
        next.windowSeconds,
        next.version,
        next.leak?.at ?? null,
        next.leak?.url ?? null,
        next.leak?.source ?? null,
        id,
      );
      for (const e of event === null ? [] : Array.isArray(event) ? event : [event]) this.record(e);
    });
    return next;
  }

  /** Notes that KV now holds `version` of the key's record. */
  markSynced(id: string, version: number): void {
    this.ctx.storage.sql.exec("UPDATE keys SET kv_version = MAX(kv_version, ?) WHERE id = ?", version, id);
  }

  audit(limit = 500): AuditEvent[] {
    return this.ctx.storage.sql
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
  }

  /** Appends one event. Nothing in Keyward updates or deletes an audit row. */
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
  }
}
