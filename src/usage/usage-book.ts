/**
 * One key's usage, as its guard keeps it: counts per minute (last 60 minutes),
 * per hour (last 7 days) and per day (last 90 days), admitted and refused by
 * code; when it was last used; and where from (countries, ASNs, colos, user-agent
 * families per day, bounded). Pure data and pure functions: the caller passes
 * `now`, so tests drive it with a fake clock, and the state is plain JSON so the
 * guard can write it in the row its batched flush writes anyway.
 */

export const MINUTE_MS = 60_000;
export const HOUR_MS = 60 * MINUTE_MS;
export const DAY_MS = 24 * HOUR_MS;

/** How long each granularity is kept, in buckets. */
export const RETENTION = { minute: 60, hour: 7 * 24, day: 90 } as const;
/** Distinct values kept per day and per kind (countries, ASNs, colos, agents); the rest are only counted. */
export const PLACES_PER_DAY = 8;
/** Distinct countries and ASNs remembered as "seen before" for new-location flags. */
export const KNOWN_COUNTRIES = 64;
export const KNOWN_ASNS = 256;
/** Distinct countries kept per minute bucket (for impossible travel). */
const COUNTRIES_PER_MINUTE = 4;

export type Granularity = keyof typeof RETENTION;
export const SPAN_MS: Record<Granularity, number> = { minute: MINUTE_MS, hour: HOUR_MS, day: DAY_MS };

/** What the gateway knows of the caller; null where it does not know (no request.cf under local dev). */
export interface Caller {
  country: string | null;
  asn: number | null;
  colo: string | null;
  /** An Origin or Sec-Fetch-* header was present: the request looks like it came from a browser. */
  browser: boolean;
  /** A coarse user-agent family ("curl", "chrome", ...), never the full header. */
  agent: string;
}

/** A request's outcome as counted: admitted, or refused with its error code. */
export type Outcome = { admitted: true } | { admitted: false; code: string };

export interface Bucket {
  /** Start of the bucket, ms since the epoch, aligned to its span. */
  start: number;
  admitted: number;
  refused: Record<string, number>;
  /** Requests (admitted or refused) that looked like they came from a browser. */
  browser: number;
  /** Minute buckets (and `fresh`) only: countries seen in that minute (bounded). */
  countries?: string[];
}

/** A bounded set: up to `PLACES_PER_DAY` values, and how many requests carried some other value. */
export interface Bounded {
  values: string[];
  others: number;
}

export interface DayPlaces {
  start: number;
  countries: Bounded;
  asns: Bounded;
  colos: Bounded;
  agents: Bounded;
}

export interface UsageState {
  v: 1;
  /** The key these counts are of (the guard learns it with its first request). */
  keyId: string | null;
  /** The org the key belongs to, as the gateway said; needed to report to its ledger. */
  org: string | null;
  /** When this guard first counted anything: the start of the key's known history. */
  since: number | null;
  lastUsedAt: number | null;
  minutes: Bucket[];
  hours: Bucket[];
  days: Bucket[];
  places: DayPlaces[];
  /** First sighting of each country / ASN (bounded). */
  known: { countries: Record<string, number>; asns: Record<string, number> };
  /** What was counted since the last report (the anomaly rules only raise on fresh traffic). */
  fresh: Bucket;
  /** The longest silence broken since the last report (for dormant reuse). */
  longestGap: { gapMs: number; previous: number; at: number } | null;
  /** When the ledger last received a report. */
  reportedAt: number | null;
  /** When the first request not yet reported was counted; null when the ledger has everything. */
  dirtySince: number | null;
  /** When this copy was written (the guard keeps the newest of its stored copies). */
  savedAt: number;
}

export function emptyUsage(): UsageState {
  return {
    v: 1,
    keyId: null,
    org: null,
    since: null,
    lastUsedAt: null,
    minutes: [],
    hours: [],
    days: [],
    places: [],
    known: { countries: {}, asns: {} },
    fresh: { start: 0, admitted: 0, refused: {}, browser: 0 },
    longestGap: null,
    reportedAt: null,
    dirtySince: null,
    savedAt: 0,
  };
}

export const floorTo = (t: number, span: number) => Math.floor(t / span) * span;

function bucketAt(list: Bucket[], start: number, keep: number): Bucket {
  const last = list[list.length - 1];
  if (last && last.start === start) return last;
  // A clock that steps back lands in an existing bucket rather than re-ordering the list.
  if (last && last.start > start) return list.find((b) => b.start === start) ?? last;
  const fresh: Bucket = { start, admitted: 0, refused: {}, browser: 0 };
  list.push(fresh);
  if (list.length > keep) list.splice(0, list.length - keep);
  return fresh;
}

function count(bucket: Bucket, outcome: Outcome, browser: boolean, times: number): void {
  if (outcome.admitted) bucket.admitted += times;
  else bucket.refused[outcome.code] = (bucket.refused[outcome.code] ?? 0) + times;
  if (browser) bucket.browser += times;
}

function addBounded(set: Bounded, value: string | null): void {
  if (value === null) return;
  if (set.values.includes(value)) return;
  if (set.values.length < PLACES_PER_DAY) set.values.push(value);
  else set.others++;
}

const emptyBounded = (): Bounded => ({ values: [], others: 0 });

function placesAt(state: UsageState, start: number): DayPlaces {
  const last = state.places[state.places.length - 1];
  if (last && last.start >= start) return last;
  const fresh = { start, countries: emptyBounded(), asns: emptyBounded(), colos: emptyBounded(), agents: emptyBounded() };
  state.places.push(fresh);
  if (state.places.length > RETENTION.day) state.places.splice(0, state.places.length - RETENTION.day);
  return fresh;
}

function remember(known: Record<string, number>, value: string | null, now: number, cap: number): void {
  if (value === null || value in known) return;
  if (Object.keys(known).length < cap) known[value] = now;
}

/** Counts one request (or `times` alike). Constant work: a few bucket updates at the end of short arrays. */
export function recordUsage(state: UsageState, now: number, outcome: Outcome, caller: Caller | null, times = 1): void {
  state.since ??= now;
  state.dirtySince ??= now;
  const browser = caller?.browser === true;
  const minute = bucketAt(state.minutes, floorTo(now, MINUTE_MS), RETENTION.minute);
  count(minute, outcome, browser, times);
  count(bucketAt(state.hours, floorTo(now, HOUR_MS), RETENTION.hour), outcome, browser, times);
  count(bucketAt(state.days, floorTo(now, DAY_MS), RETENTION.day), outcome, browser, times);
  count(state.fresh, outcome, browser, times);
  if (outcome.admitted) {
    const previous = state.lastUsedAt;
    if (previous !== null && now - previous > (state.longestGap?.gapMs ?? 0)) state.longestGap = { gapMs: now - previous, previous, at: now };
    state.lastUsedAt = Math.max(previous ?? now, now);
  }
  if (caller === null) return;
  const day = placesAt(state, floorTo(now, DAY_MS));
  addBounded(day.countries, caller.country);
  addBounded(day.asns, caller.asn === null ? null : String(caller.asn));
  addBounded(day.colos, caller.colo);
  addBounded(day.agents, caller.agent);
  remember(state.known.countries, caller.country, now, KNOWN_COUNTRIES);
  remember(state.known.asns, caller.asn === null ? null : String(caller.asn), now, KNOWN_ASNS);
  if (caller.country !== null) {
    for (const b of [minute, state.fresh]) {
      b.countries ??= [];
      if (!b.countries.includes(caller.country) && b.countries.length < COUNTRIES_PER_MINUTE) b.countries.push(caller.country);
    }
  }
}

/** Starts a new reporting period: what the ledger has now received is no longer fresh. */
export function markReported(state: UsageState, now: number): void {
  state.reportedAt = now;
  state.dirtySince = null;
  state.fresh = { start: now, admitted: 0, refused: {}, browser: 0 };
  state.longestGap = null;
}

/** Drops buckets older than their retention (run before reading or saving). */
export function pruneUsage(state: UsageState, now: number): void {
  const drop = (list: { start: number }[], span: number, keep: number) => {
    const oldest = floorTo(now, span) - (keep - 1) * span;
    let i = 0;
    while (i < list.length && (list[i] as { start: number }).start < oldest) i++;
    if (i > 0) list.splice(0, i);
  };
  drop(state.minutes, MINUTE_MS, RETENTION.minute);
  drop(state.hours, HOUR_MS, RETENTION.hour);
  drop(state.days, DAY_MS, RETENTION.day);
  drop(state.places, DAY_MS, RETENTION.day);
}

/** A bucket as the usage API shows it. */
export interface BucketView {
  start: number;
  admitted: number;
  refused: Record<string, number>;
}

/** The stored buckets of one granularity that start inside [from, to). Empty buckets are left out. */
export function bucketsOf(state: UsageState, granularity: Granularity, from: number, to: number): BucketView[] {
  const list = granularity === "minute" ? state.minutes : granularity === "hour" ? state.hours : state.days;
  return list.filter((b) => b.start >= from && b.start < to).map((b) => ({ start: b.start, admitted: b.admitted, refused: { ...b.refused } }));
}

/** Sum of one bucket's refusals. */
export const refusedTotal = (b: { refused: Record<string, number> }) => Object.values(b.refused).reduce((n, v) => n + v, 0);

/** Where a key was used from, over the days kept. */
export interface Locations {
  countries: string[];
  asns: string[];
  colos: string[];
}

/** Every country, ASN and colo seen in the days kept (for the usage API). */
export function locationsOf(state: UsageState): Locations {
  const union = (pick: (d: DayPlaces) => Bounded) => [...new Set(state.places.flatMap((d) => pick(d).values))].sort();
  return { countries: union((d) => d.countries), asns: union((d) => d.asns), colos: union((d) => d.colos) };
}

/** Reads a stored state; anything unreadable starts afresh (usage is informational, never a security decision). */
export function parseUsage(text: string | null): UsageState | null {
  if (text === null) return null;
  try {
    const parsed = JSON.parse(text) as UsageState;
    return parsed && parsed.v === 1 && Array.isArray(parsed.minutes) ? parsed : null;
  } catch {
    return null;
  }
}
