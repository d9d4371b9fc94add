import type { BucketView, Granularity, Locations } from "../usage/usage-book";
import { DAY_MS, floorTo } from "../usage/usage-book";
import type { UsageReport } from "../usage/usage-report";
import type { KeyName } from "./key-names";

/**
 * The org ledger's copy of its keys' usage, as their guards report it: last use
 * and places per key (`key_usage`), and one row per key and day (`usage_days`)
 * holding the day's counts and its hour buckets. Org views read only this, in
 * one call.
 *
 * One row per key and day, not one per bucket (docs/performance.md, issue 23):
 * a report updates its day's row in place, one row written, where an hour bucket
 * of its own was a row plus two index entries, and the day bucket another row.
 * For a key used about once an hour that was most of what its report cost.
 * WITHOUT ROWID: the primary key is the table, so a new day's row is written
 * once, plus its entry in the day index the org-wide views scan.
 */
export function createUsageTables(sql: SqlStorage): void {
  sql.exec(`CREATE TABLE IF NOT EXISTS key_usage (
    key_id TEXT PRIMARY KEY, last_used_at INTEGER, locations TEXT NOT NULL, reported_at INTEGER NOT NULL, reports INTEGER NOT NULL)`);
  sql.exec(`CREATE TABLE IF NOT EXISTS usage_days (
    key_id TEXT NOT NULL, day INTEGER NOT NULL, admitted INTEGER NOT NULL, refused TEXT NOT NULL, hours TEXT NOT NULL,
    PRIMARY KEY (key_id, day)) WITHOUT ROWID`);
  sql.exec("CREATE INDEX IF NOT EXISTS usage_days_by_day ON usage_days (day)");
  foldBucketTable(sql);
}

/** Day rows are kept 90 days, the hour buckets inside them with them (the usage API asks for 7 days of hours at most). */
const KEEP_DAYS_MS = 90 * DAY_MS;

type Counts = { admitted: number; refused: Record<string, number> };
type HourCounts = Counts & { start: number };

/** Higher of two counts per code: reports carry absolute counts, and a guard that lost some in a crash must not lower them. */
function maxMerge(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  const out = { ...a };
  for (const [code, n] of Object.entries(b)) out[code] = Math.max(out[code] ?? 0, n);
  return out;
}

/** A day's stored row, or an empty one. */
function readDay(sql: SqlStorage, keyId: string, day: number): { found: boolean; totals: Counts; hours: HourCounts[] } {
  const row = sql.exec("SELECT admitted, refused, hours FROM usage_days WHERE key_id = ? AND day = ?", keyId, day).toArray()[0];
  if (!row) return { found: false, totals: { admitted: 0, refused: {} }, hours: [] };
  return {
    found: true,
    totals: { admitted: Number(row.admitted), refused: JSON.parse(String(row.refused)) as Record<string, number> },
    hours: JSON.parse(String(row.hours)) as HourCounts[],
  };
}

/** Merges a report's buckets of one day into its stored row (absolute counts, the higher of each) and writes the row once. */
function mergeDay(sql: SqlStorage, keyId: string, day: number, total: Counts | null, hours: HourCounts[]): void {
  const stored = readDay(sql, keyId, day);
  const totals =
    total === null ? stored.totals : { admitted: Math.max(stored.totals.admitted, total.admitted), refused: maxMerge(stored.totals.refused, total.refused) };
  const byStart = new Map(stored.hours.map((h) => [h.start, h]));
  for (const h of hours) {
    const old = byStart.get(h.start);
    byStart.set(h.start, old ? { start: h.start, admitted: Math.max(old.admitted, h.admitted), refused: maxMerge(old.refused, h.refused) } : { ...h });
  }
  const merged = [...byStart.values()].sort((a, b) => a.start - b.start);
  // An update in place of the non-key columns: one row written, the index untouched.
  sql.exec(
    `INSERT INTO usage_days (key_id, day, admitted, refused, hours) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT(key_id, day) DO UPDATE SET admitted = excluded.admitted, refused = excluded.refused, hours = excluded.hours`,
    keyId,
    day,
    totals.admitted,
    JSON.stringify(totals.refused),
    JSON.stringify(merged),
  );
}

/** Stores one guard's report: the key's row, then one write per day the report touches. Idempotent: the same report twice leaves the same rows. */
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
  const days = new Map<number, { total: Counts | null; hours: HourCounts[] }>();
  const dayOf = (start: number) => {
    const day = floorTo(start, DAY_MS);
    let entry = days.get(day);
    if (!entry) {
      entry = { total: null, hours: [] };
      days.set(day, entry);
    }
    return entry;
  };
  for (const b of report.days) dayOf(b.start).total = { admitted: b.admitted, refused: b.refused };
  for (const b of report.hours) dayOf(b.start).hours.push({ start: b.start, admitted: b.admitted, refused: b.refused });
  for (const [day, { total, hours }] of days) mergeDay(sql, report.keyId, day, total, hours);
  // Rows past their keeping: none on most reports (a DELETE that finds nothing writes nothing).
  sql.exec("DELETE FROM usage_days WHERE key_id = ? AND day < ?", report.keyId, report.at - KEEP_DAYS_MS);
}

/**
 * Ledger schema 4: the per-bucket table of schemas 1-3 (`usage_buckets`, one
 * row per key, span and start) folded into `usage_days`, then dropped. Runs
 * inside the migration's transaction: a wake cut short keeps the old table.
 */
function foldBucketTable(sql: SqlStorage): void {
  if (sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'usage_buckets'").toArray().length === 0) return;
  const byKeyDay = new Map<string, { keyId: string; day: number; total: Counts | null; hours: HourCounts[] }>();
  for (const row of sql.exec("SELECT key_id, span, start, admitted, refused FROM usage_buckets").toArray()) {
    const keyId = String(row.key_id);
    const start = Number(row.start);
    const day = floorTo(start, DAY_MS);
    const id = `${day}:${keyId}`;
    let entry = byKeyDay.get(id);
    if (!entry) {
      entry = { keyId, day, total: null, hours: [] };
      byKeyDay.set(id, entry);
    }
    const counts = { admitted: Number(row.admitted), refused: JSON.parse(String(row.refused)) as Record<string, number> };
    if (row.span === "day") entry.total = counts;
    else entry.hours.push({ start, ...counts });
  }
  for (const { keyId, day, total, hours } of byKeyDay.values()) mergeDay(sql, keyId, day, total, hours);
  sql.exec("DROP TABLE usage_buckets");
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

/**
 * Stored buckets of one key, or of every key (keyId null), starting in [from, to),
 * oldest first: day rows as they are, or the hour buckets inside them.
 */
export function bucketRows(
  sql: SqlStorage,
  span: Exclude<Granularity, "minute">,
  from: number,
  to: number,
  keyId: string | null,
): (HourCounts & { keyId: string })[] {
  const dayFrom = span === "hour" ? floorTo(from, DAY_MS) : from;
  const rows =
    keyId === null
      ? sql.exec(
          `SELECT key_id, day, admitted, refused${span === "hour" ? ", hours" : ""} FROM usage_days WHERE day >= ? AND day < ? ORDER BY day`,
          dayFrom,
          to,
        )
      : sql.exec(
          `SELECT key_id, day, admitted, refused${span === "hour" ? ", hours" : ""} FROM usage_days WHERE key_id = ? AND day >= ? AND day < ? ORDER BY day`,
          keyId,
          dayFrom,
          to,
        );
  const out: (HourCounts & { keyId: string })[] = [];
  for (const row of rows) {
    const key = String(row.key_id);
    if (span === "day") {
      out.push({ keyId: key, start: Number(row.day), admitted: Number(row.admitted), refused: JSON.parse(String(row.refused)) as Record<string, number> });
      continue;
    }
    for (const h of JSON.parse(String(row.hours)) as HourCounts[]) {
      if (h.start >= from && h.start < to) out.push({ keyId: key, start: h.start, admitted: h.admitted, refused: h.refused });
    }
  }
  return out.sort((a, b) => a.start - b.start);
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
