// @ts-check
// Two scenarios compared as a ratio, measured in alternating slices so that
// both meet the same conditions: ABBA (or BAAB) at each concurrency, equal time
// each, and each scenario's run combined from its own slices.
import { percentile } from "./load.mjs";

/**
 * The slice order of a pair's run at one round and concurrency: ABBA or BAAB, alternating
 * from run to run, so that neither scenario always takes the first slice (the one after the
 * previous scenario) or the two slices in a row. Over ABBA a drift that is linear in time
 * falls on A and B alike (A's slices sit as far before the middle as after it, and B's too).
 * @template T
 * @param {T} a
 * @param {T} b
 * @param {number} round 1-based
 * @param {number} index the concurrency's index in the plan
 * @returns {T[]}
 */
export function sliceOrder(a, b, round, index) {
  return (round + index) % 2 === 1 ? [a, b, b, a] : [b, a, a, b];
}

/** @param {Record<string, number>} into @param {Record<string, number>} from */
function addCounts(into, from) {
  for (const [k, n] of Object.entries(from)) into[k] = (into[k] ?? 0) + n;
}

/**
 * One run from a scenario's slices (measure() results): requests, statuses and seconds added;
 * requests/s over all of its seconds; percentiles over all of its latencies; CPU, minor faults and storage
 * counts per request weighted by each slice's requests (their totals over the total requests).
 * @param {any[]} slices
 */
export function combineSlices(slices) {
  const requests = slices.reduce((n, s) => n + s.requests, 0);
  const ok = slices.reduce((n, s) => n + s.ok, 0);
  const seconds = slices.reduce((n, s) => n + s.seconds, 0);
  /** @param {(s: any) => Record<string, number> | undefined} pick */
  const perRequest = (pick) => {
    if (slices.some((s) => !pick(s))) return undefined;
    /** @type {Record<string, number>} */
    const totals = {};
    for (const s of slices) addCounts(totals, Object.fromEntries(Object.entries(pick(s) ?? {}).map(([k, v]) => [k, v * s.requests])));
    return Object.fromEntries(Object.entries(totals).map(([k, v]) => [k, v / Math.max(1, requests)]));
  };
  const latencies = Float64Array.from(slices.flatMap((s) => Array.from(s.latencies ?? []))).sort();
  /** @type {Record<string, number>} */
  const statuses = {};
  for (const s of slices) addCounts(statuses, s.statuses);
  const storagePerRequest = perRequest((s) => s.storagePerRequest);
  return {
    seconds,
    requests,
    ok,
    non2xx: slices.reduce((n, s) => n + s.non2xx, 0),
    errors: slices.reduce((n, s) => n + s.errors, 0),
    timeouts: slices.reduce((n, s) => n + s.timeouts, 0),
    statuses,
    rps: ok / seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    cpuMicrosPerRequest: perRequest((s) => s.cpuMicrosPerRequest),
    workerdMinorFaultsPerRequest: slices.reduce((n, s) => n + s.workerdMinorFaultsPerRequest * s.requests, 0) / Math.max(1, requests),
    ...(storagePerRequest ? { storagePerRequest } : {}),
    slices: slices.map((s) => ({ seconds: s.seconds, requests: s.requests, rps: s.rps, workerdMicrosPerRequest: s.cpuMicrosPerRequest.workerd })),
  };
}
