import * as z from "zod";
import { type Bucket, DAY_MS, floorTo, HOUR_MS, MINUTE_MS, refusedTotal, type UsageState } from "./usage-book";

/**
 * The unusual patterns Keyward flags, judged from one key's usage state when its
 * guard reports to the org ledger (an alarm, at most once a minute), never on a
 * request. Pure: the state and `now` are passed in.
 */
export const ANOMALY_TYPES = [
  "rate_spike",
  "new_country",
  "new_asn",
  "impossible_travel",
  "browser_use",
  "refusal_run",
  "dormant_reuse",
  "revoked_key_used",
] as const;
export type AnomalyType = (typeof ANOMALY_TYPES)[number];

/** One rule's verdict: a sentence a person understands, and the numbers behind it. */
export interface AnomalyFinding {
  type: AnomalyType;
  message: string;
  details: Record<string, unknown>;
}

const positive = z.number().positive();
/** Every threshold, with its default. Set any of them with the USAGE_ANOMALY_THRESHOLDS variable (JSON). */
export const thresholdsSchema = z.strictObject({
  /** rate_spike: the last 60 minutes exceed this many times the median hourly count of the past 7 days... */
  rateSpikeFactor: positive.default(10),
  /** ...and at least this many requests, so a quiet key's first busy hour is not noise. */
  rateSpikeFloor: positive.default(1000),
  /** new_country / new_asn: only once the key has this many days of history. */
  settledHistoryDays: positive.default(7),
  /** impossible_travel: two countries within this many minutes. */
  travelWindowMinutes: positive.default(10),
  /** browser_use: this many browser requests since the last report. */
  browserRequests: positive.default(1),
  /** refusal_run: more than this many RATE_LIMITED refusals... */
  rateLimitedRun: positive.default(100),
  /** ...within this many minutes. */
  rateLimitedRunMinutes: positive.default(10),
  /** refusal_run: permission / user-token refusals in the last hour above this many times the key's median hour... */
  deniedRunFactor: positive.default(10),
  /** ...and above this many. */
  deniedRunFloor: positive.default(50),
  /** dormant_reuse: first use after this many days of silence. */
  dormantDays: positive.default(30),
  /** revoked_key_used: more than this many attempts with a revoked or expired key in an hour. */
  revokedAttemptsPerHour: positive.default(10),
});
export type AnomalyThresholds = z.infer<typeof thresholdsSchema>;
export const DEFAULT_THRESHOLDS: AnomalyThresholds = thresholdsSchema.parse({});

/** Parses USAGE_ANOMALY_THRESHOLDS (JSON, any subset of the fields); throws a message naming the field at fault. */
export function parseThresholds(raw: unknown): AnomalyThresholds {
  if (raw === undefined || raw === null || raw === "") return DEFAULT_THRESHOLDS;
  let json: unknown = raw;
  if (typeof raw === "string") {
    try {
      json = JSON.parse(raw);
    } catch {
      throw new Error('must be JSON, e.g. {"rateSpikeFloor": 5000}');
    }
  }
  const parsed = thresholdsSchema.safeParse(json);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0] as z.core.$ZodIssue;
  const field = issue.code === "unrecognized_keys" ? issue.keys[0] : issue.path.join(".");
  throw new Error(`${field}: ${issue.code === "unrecognized_keys" ? "is not a known threshold" : issue.message}`);
}

/** Refusal codes that mean "the caller was not allowed", as opposed to limits or a dead key. */
export const DENIAL_CODES = ["INSUFFICIENT_PERMISSIONS", "ORG_MISMATCH", "INVALID_USER_TOKEN", "MISSING_AUTH_HEADER", "IP_NOT_ALLOWED"];
const DEAD_KEY_CODES = ["KEY_REVOKED", "KEY_EXPIRED"];

const total = (b: Bucket) => b.admitted + refusedTotal(b);
const sumCodes = (b: { refused: Record<string, number> }, codes: string[]) => codes.reduce((n, c) => n + (b.refused[c] ?? 0), 0);

function median(values: number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Hourly values of the past 7 days before the current hour, since the key's history began (missing hours are 0). */
function pastHours(state: UsageState, now: number, measure: (b: Bucket) => number): number[] {
  const current = floorTo(now, HOUR_MS);
  const first = Math.max(current - 7 * 24 * HOUR_MS, floorTo(state.since ?? current, HOUR_MS));
  const byStart = new Map(state.hours.map((b) => [b.start, b]));
  const values: number[] = [];
  for (let t = first; t < current; t += HOUR_MS) {
    const b = byStart.get(t);
    values.push(b ? measure(b) : 0);
  }
  return values;
}

/** Sum over the minute buckets of the last `minutes` minutes (the current minute included). */
function lastMinutes(state: UsageState, now: number, minutes: number, measure: (b: Bucket) => number): number {
  const from = floorTo(now, MINUTE_MS) - (Math.ceil(minutes) - 1) * MINUTE_MS;
  return state.minutes.filter((b) => b.start >= from).reduce((n, b) => n + measure(b), 0);
}

const dayCount = (ms: number) => Math.round((ms / DAY_MS) * 10) / 10;

/** "1 time", "2 times": a count and its noun, for the sentences below (English plurals in -s). */
export function counted(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

/**
 * Everything unusual in this state since the last report. Every rule needs fresh
 * traffic of its own kind, so a pattern that has stopped is not raised again
 * (an acknowledged flag stays acknowledged) while one that goes on keeps its
 * open flag's lastSeenAt moving.
 */
export function detectAnomalies(state: UsageState, now: number, t: AnomalyThresholds = DEFAULT_THRESHOLDS): AnomalyFinding[] {
  const found: AnomalyFinding[] = [];
  const fresh = state.fresh;
  const since = state.reportedAt ?? Number.NEGATIVE_INFINITY;

  if (total(fresh) > 0) {
    const lastHour = lastMinutes(state, now, 60, total);
    const typical = median(pastHours(state, now, total));
    if (lastHour >= t.rateSpikeFloor && lastHour > t.rateSpikeFactor * typical) {
      found.push({
        type: "rate_spike",
        message: `This key made ${counted(lastHour, "request")} in the last hour, more than ${t.rateSpikeFactor}× its usual ${typical} an hour over the past 7 days.`,
        details: { lastHour, medianHourly: typical, factor: t.rateSpikeFactor, floor: t.rateSpikeFloor },
      });
    }
  }

  // A first sighting only means something once the key has a settled history.
  const settledFrom = state.since === null ? Number.POSITIVE_INFINITY : state.since + t.settledHistoryDays * DAY_MS;
  for (const [type, kind, seen] of [
    ["new_country", "country", state.known.countries],
    ["new_asn", "network (ASN)", state.known.asns],
  ] as const) {
    const values = Object.entries(seen)
      .filter(([, at]) => at > since && at >= settledFrom)
      .map(([value]) => value);
    if (values.length === 0) continue;
    const known = Object.keys(seen).filter((v) => !values.includes(v));
    found.push({
      type,
      message: `This key was used from a ${kind} it had never been used from in ${counted(dayCount(now - (state.since as number)), "day")}: ${values.join(", ")}.`,
      details: { new: values, known, historyDays: dayCount(now - (state.since as number)) },
    });
  }

  if ((fresh.countries?.length ?? 0) > 0) {
    const windowMs = t.travelWindowMinutes * MINUTE_MS;
    const recent = state.minutes.filter((b) => b.start >= floorTo(since, MINUTE_MS) && (b.countries?.length ?? 0) > 0);
    for (const b of recent) {
      const near = state.minutes.filter((a) => Math.abs(a.start - b.start) < windowMs && (a.countries?.length ?? 0) > 0);
      const countries = [...new Set(near.flatMap((a) => a.countries ?? []))].sort();
      if (countries.length >= 2) {
        found.push({
          type: "impossible_travel",
          message: `This key was used from ${countries.join(" and ")} within ${counted(t.travelWindowMinutes, "minute")}: it may be in more than one person's hands.`,
          details: { countries, windowMinutes: t.travelWindowMinutes, at: new Date(b.start).toISOString() },
        });
        break;
      }
    }
  }

  if (fresh.browser >= t.browserRequests) {
    found.push({
      type: "browser_use",
      message: `This secret key was sent from a web browser ${counted(fresh.browser, "time")}: anyone who opens that page can copy it. Keep it on a server.`,
      details: { browserRequests: fresh.browser },
    });
  }

  const rateLimited = lastMinutes(state, now, t.rateLimitedRunMinutes, (b) => b.refused.RATE_LIMITED ?? 0);
  if ((fresh.refused.RATE_LIMITED ?? 0) > 0 && rateLimited > t.rateLimitedRun) {
    found.push({
      type: "refusal_run",
      message: `This key was refused for its rate limit ${counted(rateLimited, "time")} in ${counted(t.rateLimitedRunMinutes, "minute")}: a client is retrying without backing off.`,
      details: { code: "RATE_LIMITED", refused: rateLimited, minutes: t.rateLimitedRunMinutes, threshold: t.rateLimitedRun },
    });
  } else if (sumCodes(fresh, DENIAL_CODES) > 0) {
    const denied = lastMinutes(state, now, 60, (b) => sumCodes(b, DENIAL_CODES));
    const typical = median(pastHours(state, now, (b) => sumCodes(b, DENIAL_CODES)));
    if (denied > t.deniedRunFloor && denied > t.deniedRunFactor * typical) {
      found.push({
        type: "refusal_run",
        message: `This key was refused for permissions or user tokens ${counted(denied, "time")} in the last hour, far above its usual ${typical} an hour.`,
        details: { codes: DENIAL_CODES, refused: denied, medianHourly: typical, factor: t.deniedRunFactor, floor: t.deniedRunFloor },
      });
    }
  }

  const gap = state.longestGap;
  if (gap !== null && gap.gapMs >= t.dormantDays * DAY_MS) {
    found.push({
      type: "dormant_reuse",
      message: `This key was used again after ${counted(dayCount(gap.gapMs), "day")} of silence.`,
      details: { silentDays: dayCount(gap.gapMs), previousUseAt: new Date(gap.previous).toISOString(), at: new Date(gap.at).toISOString() },
    });
  }

  if (sumCodes(fresh, DEAD_KEY_CODES) > 0) {
    const attempts = lastMinutes(state, now, 60, (b) => sumCodes(b, DEAD_KEY_CODES));
    if (attempts > t.revokedAttemptsPerHour) {
      found.push({
        type: "revoked_key_used",
        message: `Someone tried this revoked or expired key ${counted(attempts, "time")} in the last hour: a client still has it.`,
        details: { attempts, threshold: t.revokedAttemptsPerHour },
      });
    }
  }
  return found;
}
