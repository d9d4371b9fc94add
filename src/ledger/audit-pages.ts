import { crc32Hex } from "../keys/crc32";

/**
 * One page of an org's audit log, newest first, in one query: filtered by key,
 * action, actor and time. The cursor is the `seq` of the page's last entry (the
 * log only grows, and entries never move), so pages neither overlap nor skip,
 * however many entries arrive meanwhile; new ones appear on a fresh first page.
 */
export interface AuditPageQuery {
  /** The org listed: a cursor is bound to it, so one org's cursor is refused by another's log. */
  org: string;
  limit: number;
  /** Opaque cursor from the previous page; null for the first page. */
  cursor: string | null;
  keyId: string | null;
  action: string | null;
  actor: string | null;
  /** Entries at or after this time (epoch ms); null: no bound. */
  since: number | null;
  /** Entries before this time (epoch ms); null: no bound. */
  until: number | null;
}

/** What a cursor is checked against: the page query it was made for. */
export type AuditCursorScope = Omit<AuditPageQuery, "limit" | "cursor">;

interface Cursor {
  o: string;
  /** Fingerprint of the filters the cursor was made under. */
  f: string;
  /** The `seq` of the last entry of the page before. */
  s: number;
}

export class BadAuditCursor extends Error {}

/**
 * A client that changed a filter and kept its cursor would page "correctly" from
 * that position, but through another listing; a 400 tells it to start again. A
 * checksum, not a secret: the org binding is what keeps cursors within an org.
 */
function filterPrint(scope: AuditCursorScope): string {
  return crc32Hex(encodeURIComponent(JSON.stringify([scope.keyId, scope.action, scope.actor, scope.since, scope.until])));
}

function encodeCursor(c: Cursor): string {
  return btoa(JSON.stringify(c)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/** Reads a cursor; throws BadAuditCursor for anything this code did not make for the same org and filters. */
export function decodeAuditCursor(raw: string, scope: AuditCursorScope): number {
  try {
    const c = JSON.parse(atob(raw.replaceAll("-", "+").replaceAll("_", "/"))) as Cursor;
    if (c.o === scope.org && c.f === filterPrint(scope) && Number.isSafeInteger(c.s) && c.s > 0) return c.s;
  } catch {}
  throw new BadAuditCursor();
}

/**
 * The SQL and its arguments for one page (limit + 1 rows: the extra one says
 * whether there is a next page). Filtering by key uses the index on (key_id,
 * seq); the other filters read the log newest first until the page is full.
 */
export function auditPageSql(q: AuditPageQuery): { sql: string; args: (string | number)[] } {
  const where: string[] = [];
  const args: (string | number)[] = [];
  const add = (clause: string, value: string | number | null) => {
    if (value === null) return;
    where.push(clause);
    args.push(value);
  };
  add("key_id = ?", q.keyId);
  add("action = ?", q.action);
  add("actor = ?", q.actor);
  add("at >= ?", q.since);
  add("at < ?", q.until);
  add("seq < ?", q.cursor === null ? null : decodeAuditCursor(q.cursor, q));
  args.push(q.limit + 1);
  return { sql: `SELECT * FROM audit ${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY seq DESC LIMIT ?`, args };
}

/** The cursor for the page after `rows` (limit + 1 of them asked for), or null when this was the last page. */
export function nextAuditCursor(rows: Record<string, SqlStorageValue>[], q: AuditPageQuery): string | null {
  if (rows.length <= q.limit) return null;
  const last = rows[q.limit - 1] as Record<string, SqlStorageValue>;
  return encodeCursor({ o: q.org, f: filterPrint(q), s: Number(last.seq) });
}

/** Repeats of one key's `key.leak_reported_again` within this of the entry they join are one entry with a count. */
export const REPORT_AGAIN_COLLAPSE_MS = 60_000;

/** An audit entry as a page holds it. */
export interface AuditEntry {
  at: number;
  actor: string;
  action: string;
  keyId: string;
  requestId: string;
  detail: Record<string, unknown>;
  /** 1, or how many repeats a collapsed entry stands for. */
  count: number;
}

/** One page of the log (auditPageSql), as entries, with the cursor of the next page. */
export function readAuditPage(sql: SqlStorage, q: AuditPageQuery): { events: AuditEntry[]; nextCursor: string | null } {
  const { sql: text, args } = auditPageSql(q);
  const rows = sql.exec(text, ...args).toArray();
  const events = rows.slice(0, q.limit).map((row) => ({
    at: Number(row.at),
    actor: String(row.actor),
    action: String(row.action),
    keyId: String(row.key_id),
    requestId: String(row.request_id),
    detail: JSON.parse(String(row.detail)) as Record<string, unknown>,
    count: row.count === null || row.count === undefined ? 1 : Number(row.count),
  }));
  return { events, nextCursor: nextAuditCursor(rows, q) };
}

/**
 * Folds a repeated `key.leak_reported_again` into the entry of the same key
 * made less than a minute before it, by counting it there, instead of appending
 * a row: a GitHub batch or a crowd of public reports of one leaked key would
 * otherwise push an org's admin actions out of view. The one change the audit
 * log ever makes to a row, and only to its count. Answers whether it folded.
 */
export function foldRepeat(sql: SqlStorage, event: { at: number; action: string; keyId: string }): boolean {
  if (event.action !== "key.leak_reported_again") return false;
  const row = sql
    .exec(
      "SELECT seq FROM audit WHERE key_id = ? AND action = ? AND at > ? ORDER BY seq DESC LIMIT 1",
      event.keyId,
      event.action,
      event.at - REPORT_AGAIN_COLLAPSE_MS,
    )
    .toArray()[0];
  if (row === undefined) return false;
  sql.exec("UPDATE audit SET count = count + 1 WHERE seq = ?", row.seq);
  return true;
}
