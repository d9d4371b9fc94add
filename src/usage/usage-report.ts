import { type AnomalyFinding, type AnomalyThresholds, detectAnomalies } from "./anomaly-rules";
import { type BucketView, bucketsOf, DAY_MS, floorTo, HOUR_MS, type Locations, locationsOf, pruneUsage, type UsageState } from "./usage-book";

/** A guard reports to its org's ledger at most once per this period... */
export const REPORT_PERIOD_MS = 60_000;
/** ...and a few seconds after the first unreported request, so that a burst goes in one report. */
export const REPORT_DELAY_MS = 5_000;

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
 * When a guard with unreported traffic may report next: REPORT_DELAY_MS after
 * the first unreported request, and never within REPORT_PERIOD_MS of the
 * previous report (at most one report a minute per key, whatever the traffic).
 */
export function nextReportAt(reportedAt: number | null, dirtySince: number): number {
  return Math.max(dirtySince + REPORT_DELAY_MS, (reportedAt ?? Number.NEGATIVE_INFINITY) + REPORT_PERIOD_MS);
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
