import type { Credits } from "../guard/credits";
import { foldForSearch, type KeyPageQuery, keyPageSql, nextCursorOf } from "./key-pages";

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
  /** Where requests are admitted (docs/contract.md, local admission): at the key's guard, or from leases near the callers. */
  admission: "central" | "local";
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

/** A key with its last use as its guard last reported it (null: never, or not reported yet). */
export type ListedKey = LedgerKey & { lastUsedAt: number | null };

/** The fields of a key that change after creation; `hash` and `prefix` change when it is rolled (a new secret). */
export type KeyChange = Partial<
  Pick<
    LedgerKey,
    "revokedAt" | "revokeAt" | "disabledAt" | "credits" | "meta" | "limit" | "windowSeconds" | "admission" | "version" | "leak" | "hash" | "prefix" | "label"
  >
>;

type Row = Record<string, SqlStorageValue>;

const json = <T>(v: SqlStorageValue | undefined): T | null => (v === null || v === undefined ? null : (JSON.parse(String(v)) as T));

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
    credits: json<Credits>(row.credits),
    meta: json<Record<string, unknown>>(row.meta),
    limit: Number(row.limit_n),
    windowSeconds: Number(row.window_s),
    admission: row.admission === "local" ? "local" : "central",
    version: Number(row.version),
    kvVersion: Number(row.kv_version),
    allowedIps: json<string[]>(row.allowed_ips),
    leak:
      row.leaked_at === null || row.leaked_at === undefined
        ? null
        : { at: Number(row.leaked_at), url: row.leak_url === null ? null : String(row.leak_url), source: String(row.leak_source) },
  };
}

function listed(row: Row): ListedKey {
  return { ...toKey(row), lastUsedAt: row.last_used_at === null || row.last_used_at === undefined ? null : Number(row.last_used_at) };
}

/** Adds a new key's row (the caller holds the transaction that audits it). */
export function insertKey(sql: SqlStorage, key: LedgerKey): void {
  sql.exec(
    `INSERT INTO keys (id, hash, prefix, label, environment, scopes, created_at, created_by, expires_at, revoked_at, revoke_at, limit_n, window_s, version, kv_version, allowed_ips, disabled_at, credits, meta, label_fold, admission)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
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
    key.admission === "local" ? "local" : null,
  );
}

/** One key with its last use; null when the org has no such key. */
export function readKey(sql: SqlStorage, id: string): ListedKey | null {
  const row = sql.exec("SELECT k.*, u.last_used_at AS last_used_at FROM keys k LEFT JOIN key_usage u ON u.key_id = k.id WHERE k.id = ?", id).toArray()[0];
  return row ? listed(row) : null;
}

/** One page of keys (key-pages.ts): a single query whatever the org's size. */
export function readKeyPage(sql: SqlStorage, query: KeyPageQuery): { keys: ListedKey[]; nextCursor: string | null } {
  const { sql: text, args } = keyPageSql(query);
  const rows = sql.exec(text, ...args).toArray();
  return { keys: rows.slice(0, query.limit).map(listed), nextCursor: nextCursorOf(rows, query) };
}

/** Writes the fields of `next` that change after creation. */
export function writeKey(sql: SqlStorage, next: LedgerKey): void {
  sql.exec(
    "UPDATE keys SET revoked_at = ?, revoke_at = ?, disabled_at = ?, credits = ?, meta = ?, limit_n = ?, window_s = ?, admission = ?, version = ?, leaked_at = ?, leak_url = ?, leak_source = ?, hash = ?, prefix = ?, label = ?, label_fold = ? WHERE id = ?",
    next.revokedAt,
    next.revokeAt,
    next.disabledAt,
    next.credits === null ? null : JSON.stringify(next.credits),
    next.meta === null ? null : JSON.stringify(next.meta),
    next.limit,
    next.windowSeconds,
    next.admission === "local" ? "local" : null,
    next.version,
    next.leak?.at ?? null,
    next.leak?.url ?? null,
    next.leak?.source ?? null,
    next.hash,
    next.prefix,
    next.label,
    // The search compares the folded label (key-pages.ts): a rename is found by its new name.
    foldForSearch(next.label),
    next.id,
  );
}

/** Notes that KV now holds `version` of the key's record (never lowers it). */
export function markSynced(sql: SqlStorage, id: string, version: number): void {
  sql.exec("UPDATE keys SET kv_version = MAX(kv_version, ?) WHERE id = ?", version, id);
}
