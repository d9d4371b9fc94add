import { type AnomalyFinding, type AnomalyThresholds, detectAnomalies } from "./anomaly-rules";
import { type BucketView, bucketsOf, DAY_MS, floorTo, HOUR_MS, type Locations, locationsOf, pruneUsage, type UsageState } from "./usage-book";

/** A busy key's guard reports to its org's ledger at most once per this period... */
export const REPORT_PERIOD_MS = 60_000;
/**
 * ...a quiet key's at most once per this one: a key whose previous report carried
 * fewer than BUSY_REPORT_REQUESTS requests. A key used about once a minute then
 * sends one report for every four or five requests instead of one per request,
 * and its `lastUsedAt` in listings is still at most this (plus the alarm's own
 * delay, seconds) behind the truth: under 5 minutes (docs/usage.md).
 */
export const QUIET_REPORT_PERIOD_MS = 270_000;
/** Requests in a report that make the key busy (about one every two seconds over a minute). */
export const BUSY_REPORT_REQUESTS = 30;
/** ...and a few seconds after the first unreported request, so that a burst goes in one report. */
export const REPORT_DELAY_MS = 5_000;

/**
 * A development-only setting in whole milliseconds, from 0 to its default: it may
 * shorten a wait, never lengthen it. `error` says what is wrong with the variable:
 * config.ts refuses to start with it, so production never runs with one.
 */
function devMillisOf(raw: unknown, keywardEnv: unknown, fallback: number): { ms: number; error: string | null } {
  if (raw === undefined || raw === null || raw === "") return { ms: fallback, error: null };
  if (keywardEnv !== "development") return { ms: fallback, error: "is for local development only; remove it" };
  const ms = Number(raw);
  if (typeof raw !== "string" || !/^\d+$/.test(raw) || ms > fallback) {
    return { ms: fallback, error: `must be a whole number of milliseconds from 0 to ${fallback}, got ${JSON.stringify(raw)}` };
  }
  return { ms, error: null };
}

/**
 * The report delay: REPORT_DELAY_MS, or in development KEYWARD_DEV_REPORT_DELAY_MS
 * (0 to REPORT_DELAY_MS), so that a test over HTTP against `wrangler dev` need not
 * wait on the clock.
 */
export function reportDelayOf(env: { KEYWARD_ENV?: unknown; KEYWARD_DEV_REPORT_DELAY_MS?: unknown }): { delayMs: number; error: string | null } {
  const { ms, error } = devMillisOf(env.KEYWARD_DEV_REPORT_DELAY_MS, env.KEYWARD_ENV, REPORT_DELAY_MS);
  return { delayMs: ms, error };
}

/**
 * A quiet key's report period: QUIET_REPORT_PERIOD_MS, or in development
 * KEYWARD_DEV_QUIET_REPORT_PERIOD_MS (0 to QUIET_REPORT_PERIOD_MS). The bench gives
 * it to its many-keys services, so that each round's reports come a minute after
 * its sweep instead of 4.5 minutes (docs/performance.md, Reproduce): the same
 * reports, sooner. The busy period stays REPORT_PERIOD_MS.
 */
export function quietReportPeriodOf(env: { KEYWARD_ENV?: unknown; KEYWARD_DEV_QUIET_REPORT_PERIOD_MS?: unknown }): {
  periodMs: number;
  error: string | null;
} {
  const { ms, error } = devMillisOf(env.KEYWARD_DEV_QUIET_REPORT_PERIOD_MS, env.KEYWARD_ENV, QUIET_REPORT_PERIOD_MS);
  return { periodMs: ms, error };
}

/** What a key's guard tells its org's ledger: absolute counts (so a repeated report changes nothing), places, findings. */
export interface UsageReport {
  keyId: string;
  at: number;
  lastUsedAt: number | null;
  /** Hour and day buckets touched since the previous report, with their full counts so far. */
  hours: BucketView[];
  days: BucketView[];
  locations: Locations;
  anomalies: AnomalyFinding[];
}

/**
 * When a guard with unreported traffic may report next: `delayMs` (REPORT_DELAY_MS
 * unless a development setting says less) after the first unreported request, and
 * never within `periodMs` of the previous report (reportPeriodAfter: at most one
 * report a minute per busy key, one per 4.5 minutes per quiet one, whatever the traffic).
 */
export function nextReportAt(reportedAt: number | null, dirtySince: number, delayMs = REPORT_DELAY_MS, periodMs = REPORT_PERIOD_MS): number {
  return Math.max(dirtySince + delayMs, (reportedAt ?? Number.NEGATIVE_INFINITY) + periodMs);
}

/** The period after a report that carried `requests` requests: a minute for a busy key, the quiet period (QUIET_REPORT_PERIOD_MS unless a development setting says less) otherwise. */
export function reportPeriodAfter(requests: number, quietMs = QUIET_REPORT_PERIOD_MS): number {
  return requests >= BUSY_REPORT_REQUESTS ? REPORT_PERIOD_MS : quietMs;
}

/** Builds the report of one key's usage at `now` (pure; the state is pruned, not reset). */
export function buildReport(keyId: string, state: UsageState, now: number, thresholds: AnomalyThresholds): UsageReport {
  pruneUsage(state, now);
  const since = state.reportedAt ?? 0;
  const end = Number.POSITIVE_INFINITY;
  return {
    keyId,
    at: now,
    lastUsedAt: state.lastUsedAt,
    hours: bucketsOf(state, "hour", floorTo(since, HOUR_MS), end),
    days: bucketsOf(state, "day", floorTo(since, DAY_MS), end),
    locations: locationsOf(state),
    anomalies: detectAnomalies(state, now, thresholds),
  };
}
