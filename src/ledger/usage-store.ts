import type { BucketView, Granularity, Locations } from "../usage/usage-book";
import { DAY_MS, HOUR_MS } from "../usage/usage-book";
import type { UsageReport } from "../usage/usage-report";
import type { KeyName } from "./key-names";

/**
 * The org ledger's copy of its keys' usage, as their guards report it (at most
 * once a minute per key): last use and places per key, and hour (7 days) and
 * day (90 days) buckets per key. Org views read only this, in one call.
 */
export function createUsageTables(sql: SqlStorage): void {
  sql.exec(`CREATE TABLE IF NOT EXISTS key_usage (
    key_id TEXT PRIMARY KEY, last_used_at INTEGER, locations TEXT NOT NULL, reported_at INTEGER NOT NULL, reports INTEGER NOT NULL)`);
  sql.exec(`CREATE TABLE IF NOT EXISTS usage_buckets (
    key_id TEXT NOT NULL, span TEXT NOT NULL, start INTEGER NOT NULL, admitted INTEGER NOT NULL, refused TEXT NOT NULL,
    PRIMARY KEY (key_id, span, start))`);
  sql.exec("CREATE INDEX IF NOT EXISTS usage_buckets_by_time ON usage_buckets (span, start)");
}

const KEEP_MS = { hour: 7 * 24 * HOUR_MS, day: 90 * DAY_MS } as const;

/** Higher of two counts per code: reports carry absolute counts, and a guard that lost some in a crash must not lower them. */
function maxMerge(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  const out = { ...a };
  for (const [code, n] of Object.entries(b)) out[code] = Math.max(out[code] ?? 0, n);
  return out;
}

/** Stores one guard's report. Idempotent: the same report twice leaves the same rows. */
export function storeReport(sql: SqlStorage, report: UsageReport): void {
  sql.exec(
    `INSERT INTO key_usage (key_id, last_used_at, locations, reported_at, reports) VALUES (?, ?, ?, ?, 1)
     ON CONFLICT(key_id) DO UPDATE SET last_used_at = MAX(COALESCE(last_used_at, 0), COALESCE(excluded.last_used_at, 0)),
       locations = excluded.locations, reported_at = excluded.reported_at, reports = reports + 1`,
    report.keyId,
    report.lastUsedAt,
    JSON.stringify(report.locations),
    report.at,
  );
  for (const [span, buckets] of [
    ["hour", report.hours],
    ["day", report.days],
  ] as const) {
    for (const b of buckets) {
      const row = sql.exec("SELECT admitted, refused FROM usage_buckets WHERE key_id = ? AND span = ? AND start = ?", report.keyId, span, b.start).toArray()[0];
      const admitted = Math.max(b.admitted, row ? Number(row.admitted) : 0);
      const refused = row ? maxMerge(JSON.parse(String(row.refused)) as Record<string, number>, b.refused) : b.refused;
      // An update in place, not REPLACE's delete and insert: a later report of the same
      // bucket writes its one row, not the row and both its index entries again.
      sql.exec(
        `INSERT INTO usage_buckets (key_id, span, start, admitted, refused) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT(key_id, span, start) DO UPDATE SET admitted = excluded.admitted, refused = excluded.refused`,
        report.keyId,
        span,
        b.start,
        admitted,
        JSON.stringify(refused),
      );
    }
    sql.exec("DELETE FROM usage_buckets WHERE key_id = ? AND span = ? AND start < ?", report.keyId, span, report.at - KEEP_MS[span]);
  }
}

/** One key's last use and places as last reported. */
export function keyUsageRow(sql: SqlStorage, keyId: string): { lastUsedAt: number | null; locations: Locations; reportedAt: number | null } {
  const row = sql.exec("SELECT last_used_at, locations, reported_at FROM key_usage WHERE key_id = ?", keyId).toArray()[0];
  if (!row) return { lastUsedAt: null, locations: { countries: [], asns: [], colos: [] }, reportedAt: null };
  return {
    lastUsedAt: row.last_used_at === null ? null : Number(row.last_used_at),
    locations: JSON.parse(String(row.locations)) as Locations,
    reportedAt: Number(row.reported_at),
  };
}

const toBucket = (row: Record<string, SqlStorageValue>): BucketView & { keyId: string } => ({
  keyId: String(row.key_id),
  start: Number(row.start),
  admitted: Number(row.admitted),
  refused: JSON.parse(String(row.refused)) as Record<string, number>,
});

/** Stored buckets of one key, or of every key (keyId null), starting in [from, to), oldest first. */
export function bucketRows(sql: SqlStorage, span: Exclude<Granularity, "minute">, from: number, to: number, keyId: string | null) {
  const rows =
    keyId === null
      ? sql.exec("SELECT * FROM usage_buckets WHERE span = ? AND start >= ? AND start < ? ORDER BY start", span, from, to)
      : sql.exec("SELECT * FROM usage_buckets WHERE key_id = ? AND span = ? AND start >= ? AND start < ? ORDER BY start", keyId, span, from, to);
  return rows.toArray().map(toBucket);
}

/** One key's reported usage as the usage API shows it. */
export interface KeyUsageView<K> {
  key: K;
  buckets: BucketView[];
  locations: Locations;
  reportedAt: number | null;
}

/** `key`'s reported usage: hour or day buckets in [from, to), its places and its last report. */
export function keyUsageView<K extends { id: string }>(
  sql: SqlStorage,
  key: K,
  span: Exclude<Granularity, "minute">,
  from: number,
  to: number,
): KeyUsageView<K> {
  const { locations, reportedAt } = keyUsageRow(sql, key.id);
  const buckets = bucketRows(sql, span, from, to, key.id).map(({ start, admitted, refused }) => ({ start, admitted, refused }));
  return { key, buckets, locations, reportedAt };
}

/** Adds b's counts into a (refused per code). */
function addInto(a: { admitted: number; refused: Record<string, number> }, b: { admitted: number; refused: Record<string, number> }): void {
  a.admitted += b.admitted;
  for (const [code, n] of Object.entries(b.refused)) a.refused[code] = (a.refused[code] ?? 0) + n;
}

const refusedSum = (r: Record<string, number>) => Object.values(r).reduce((n, v) => n + v, 0);

export interface OrgUsage {
  totals: { admitted: number; refused: Record<string, number> };
  buckets: BucketView[];
  topKeys: { keyId: string; admitted: number; refused: number }[];
}

/** The org's usage with its busiest keys named (the ledger adds the names). */
export type NamedOrgUsage = Omit<OrgUsage, "topKeys"> & { topKeys: (OrgUsage["topKeys"][number] & KeyName)[] };

/** The org's usage over [from, to): totals, buckets summed over keys, and the busiest keys (admitted + refused). */
export function orgUsage(sql: SqlStorage, span: Exclude<Granularity, "minute">, from: number, to: number, top: number): OrgUsage {
  const totals = { admitted: 0, refused: {} as Record<string, number> };
  const byStart = new Map<number, BucketView>();
  const byKey = new Map<string, { admitted: number; refused: number }>();
  for (const row of bucketRows(sql, span, from, to, null)) {
    addInto(totals, row);
    let bucket = byStart.get(row.start);
    if (!bucket) {
      bucket = { start: row.start, admitted: 0, refused: {} };
      byStart.set(row.start, bucket);
    }
    addInto(bucket, row);
    const key = byKey.get(row.keyId) ?? { admitted: 0, refused: 0 };
    key.admitted += row.admitted;
    key.refused += refusedSum(row.refused);
    byKey.set(row.keyId, key);
  }
  const topKeys = [...byKey.entries()]
    .map(([keyId, n]) => ({ keyId, ...n }))
    .sort((a, b) => b.admitted + b.refused - (a.admitted + a.refused) || a.keyId.localeCompare(b.keyId))
    .slice(0, top);
  return { totals, buckets: [...byStart.values()].sort((a, b) => a.start - b.start), topKeys };
}
