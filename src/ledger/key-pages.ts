import { crc32Hex } from "../keys/crc32";
import { KEY_ID_PATTERN } from "../keys/key-format";
/**
 * One page of an org's keys, in one query: filtered by status, environment and a
 * search, ordered by creation (newest first) or last use (most recent first,
 * never-used last), with the last use the guards reported. The cursor is the sort
 * value and id of the page's last key, so pages never overlap or skip a key that
 * did not change meanwhile, whatever the number of keys.
 */
/** A key's status, or `revoking`: active keys whose revocation is scheduled (a filter, not a status of its own). */
export type KeyStatus = "active" | "revoked" | "expired" | "disabled" | "revoking";
export type KeySort = "created" | "lastUsed";

export interface KeyPageQuery {
  /** The org listed: a cursor is bound to it, so one org's cursor is refused by another's listing. */
  org: string;
  limit: number;
  /** Opaque cursor from the previous page; null for the first page. */
  cursor: string | null;
  status: KeyStatus | null;
  environment: "live" | "test" | null;
  /** Search: a substring of the label (any case), or the start of the key's prefix or id; null: every key. */
  q: string | null;
  sort: KeySort;
  now: number;
}

/** What a cursor is checked against: the listing it was made for. */
export type CursorScope = Pick<KeyPageQuery, "org" | "sort" | "status" | "environment" | "q">;

interface Cursor {
  /** The org the cursor was made for. */
  o: string;
  s: KeySort;
  /** Fingerprint of the filters (status, environment, search) the cursor was made under. */
  f: string;
  v: number;
  id: string;
}

/**
 * How labels and searches are compared: Unicode-normalised and lower-cased in
 * JavaScript (SQLite's lower() folds ASCII only). Labels never change after
 * creation, so the ledger stores each label folded once, beside it.
 */
export function foldForSearch(text: string): string {
  return text.normalize("NFKC").toLowerCase();
}

/**
 * The filters a cursor belongs to. A cursor is a position in the ordering, so
 * another filter's cursor would page "correctly" from that position, but a
 * client that changed its search and kept the old cursor is confused; a 400
 * tells it to start again. A checksum, not a secret: the org binding, checked
 * separately, is what keeps one org's cursor out of another's listing.
 */
function filterPrint(scope: CursorScope): string {
  const q = scope.q === null ? null : foldForSearch(scope.q);
  return crc32Hex(encodeURIComponent(JSON.stringify([scope.status, scope.environment, q])));
}

export class BadCursor extends Error {}

export function encodeCursor(c: Cursor): string {
  return btoa(JSON.stringify(c)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/** Reads a cursor; throws BadCursor for anything this code did not make for the same org, sort and filters. */
export function decodeCursor(raw: string, scope: CursorScope): Cursor {
  try {
    const c = JSON.parse(atob(raw.replaceAll("-", "+").replaceAll("_", "/"))) as Cursor;
    if (c.o === scope.org && c.s === scope.sort && c.f === filterPrint(scope) && Number.isFinite(c.v) && typeof c.id === "string" && KEY_ID_PATTERN.test(c.id))
      return c;
  } catch {}
  throw new BadCursor();
}

// Status as the key view computes it (key-view.ts), in SQL. Revoked and expired win over disabled.
const REVOKED = "(k.revoked_at IS NOT NULL OR (k.revoke_at IS NOT NULL AND k.revoke_at <= :now))";
const EXPIRED = "(k.expires_at IS NOT NULL AND k.expires_at <= :now)";
const STATUS_SQL: Record<KeyStatus, string> = {
  revoked: REVOKED,
  expired: `NOT ${REVOKED} AND ${EXPIRED}`,
  disabled: `NOT ${REVOKED} AND NOT ${EXPIRED} AND k.disabled_at IS NOT NULL`,
  active: `NOT ${REVOKED} AND NOT ${EXPIRED} AND k.disabled_at IS NULL`,
  revoking: `NOT ${REVOKED} AND NOT ${EXPIRED} AND k.disabled_at IS NULL AND k.revoke_at IS NOT NULL`,
};

/** The SQL and its arguments for one page (limit + 1 rows: the extra one says whether there is a next page). */
export function keyPageSql(q: KeyPageQuery): { sql: string; args: (string | number)[] } {
  const sortValue = q.sort === "created" ? "k.created_at" : "COALESCE(u.last_used_at, -1)";
  const where: string[] = [];
  const args: (string | number)[] = [];
  // SQLite's positional parameters only: expand :now by hand, once per use.
  const bind = (clause: string) => {
    const uses = clause.split(":now").length - 1;
    for (let i = 0; i < uses; i++) args.push(q.now);
    return clause.replaceAll(":now", "?");
  };
  if (q.status !== null) where.push(bind(STATUS_SQL[q.status]));
  if (q.environment !== null) {
    where.push("k.environment = ?");
    args.push(q.environment);
  }
  if (q.q !== null) {
    // A substring of the folded label, or the start of the prefix or id (both lower-case ASCII).
    // No index serves a substring: the search scans the org's keys, inside this one call.
    const folded = foldForSearch(q.q);
    where.push("(instr(k.label_fold, ?) > 0 OR instr(k.prefix, ?) = 1 OR instr(k.id, ?) = 1)");
    args.push(folded, folded, folded);
  }
  if (q.cursor !== null) {
    const c = decodeCursor(q.cursor, q);
    where.push(`(${sortValue} < ? OR (${sortValue} = ? AND k.id > ?))`);
    args.push(c.v, c.v, c.id);
  }
  args.push(q.limit + 1);
  return {
    sql: `SELECT k.*, u.last_used_at AS last_used_at, ${sortValue} AS sort_value FROM keys k LEFT JOIN key_usage u ON u.key_id = k.id
      ${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY sort_value DESC, k.id LIMIT ?`,
    args,
  };
}

/** The cursor for the page after `rows` (limit + 1 of them asked for), or null when this was the last page. */
export function nextCursorOf(rows: Record<string, SqlStorageValue>[], q: CursorScope & Pick<KeyPageQuery, "limit">): string | null {
  const { limit, sort, org } = q;
  if (rows.length <= limit) return null;
  const last = rows[limit - 1] as Record<string, SqlStorageValue>;
  return encodeCursor({ o: org, s: sort, f: filterPrint(q), v: Number(last.sort_value), id: String(last.id) });
}
