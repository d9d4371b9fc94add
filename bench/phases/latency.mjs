// @ts-check
// The latency mode (issue 26, docs/performance.md): what a caller far from a
// key's guard pays, central key against local key, under a simulated distance
// (bench/workers/distance.ts), and the hot key shared by four locations.
//
// Two Keyward services, identical but for BENCH_DISTANCE: "keyward-far" adds a
// round trip of FAR_MS to every call that crosses to the guards' home (IAD) and
// NEAR_MS to every call within a location; "keyward-near" adds nothing. Both run
// at once, so that the machine's load falls on both alike. A far caller's added
// latency is a percentile of its waits for admission on keyward-far (recorded by
// the gateway: its call to the guard, or to its location's lease holder, which
// may wait on an ask to the guard) minus the same percentile on keyward-near. The
// rest of a request's path does not depend on where the guard is; its whole time,
// seen by the client, is printed too, but on a shared machine it is mostly queueing.
import { loadavg } from "node:os";
import { makeKey } from "../lib/keys.mjs";
import { percentile, runLoad } from "../lib/load.mjs";
import { log } from "../lib/log.mjs";
import { json } from "../lib/measure.mjs";

const HOME = "IAD";
const FAR_LOCATIONS = ["SYD", "FRA"];
const HOT_LOCATIONS = ["IAD", "SYD", "FRA", "GRU"];
/** Round trips added per call, ms: a crossing to the home, and a call within a location. */
const FAR_MS = 80;
const NEAR_MS = 2;
/**
 * The latency keys' limit per minute: a lease is at most a tenth of it, so a busy
 * location asks about every limit / 10 requests, and the run (never refused)
 * puts a few asks in the far callers' tail. Quick: 400 (an ask every 40 of 40
 * requests per location); full: 1,000 (every 100 of 300).
 */
const latencyLimit = (quick) => ({ limit: quick ? 400 : 1000, windowSeconds: 60 });
const HOT_LIMIT = { limit: 1_000_000_000, windowSeconds: 60 };
const LOCATION_HEADER = "x-keyward-dev-location";

/** The services the phase adds to the workerd config (bench/phases/setup.mjs). */
export function latencyServices() {
  return [
    { name: "keyward-far", vars: { BENCH_DISTANCE: JSON.stringify({ home: HOME, farMs: FAR_MS, nearMs: NEAR_MS }) } },
    { name: "keyward-near", vars: { BENCH_DISTANCE: JSON.stringify({ home: HOME, farMs: 0, nearMs: 0 }) } },
  ];
}

const loadAverage = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(" ");

/** A key of the given mode ("central" or "local"). */
function keyOf(mode, limits) {
  const k = makeKey(limits);
  if (mode === "local") k.record.rateLimit = { ...k.record.rateLimit, admission: "local" };
  return k;
}

/**
 * Runs the phase; answers its results (for the report's JSON) and its printed lines.
 * @param {import("./setup.mjs").Bench} bench
 */
export async function runLatency({ port, base, seed, quick, settle }) {
  // The phases before leave deferred work (flushes, usage reports): measured latency must not queue behind it.
  const deferredMs = await settle(0);
  log(`  latency phase: workerd idle after ${deferredMs.toFixed(0)} ms of deferred CPU`);
  const perLocation = quick ? 40 : 300;
  // Paced, so that the run measures distance and not queueing on a busy machine.
  const rate = 40;
  const connections = 4;
  const loadBefore = loadAverage();
  const limits = latencyLimit(quick);
  const keys = { central: keyOf("central", limits), local: keyOf("local", limits) };
  await seed(Object.values(keys));

  /** A first request at each location: the key's record cached, the holder's first lease taken. */
  async function warm(service, key, locations) {
    for (const loc of locations) {
      const res = await fetch(`${base(service)}/v1/things`, { headers: { authorization: `Bearer ${key}`, [LOCATION_HEADER]: loc } });
      const body = await res.text();
      if (res.status !== 200) throw new Error(`latency phase: the first request at ${loc} on ${service} answered ${res.status} ${body}`);
    }
  }

  /**
   * One key's far callers on one service: the percentiles of their waits for
   * admission (recorded by the gateway) and of their whole requests (2xx, at the
   * client), and what was not 2xx.
   */
  async function farRun(service, mode) {
    const key = keys[mode].key;
    await warm(service, key, [HOME, ...FAR_LOCATIONS]);
    await json(`${base(service)}/__bench/admission-waits`); // cleared: the warm-up's waits are not counted
    const latencies = [];
    const refused = {};
    await Promise.all(
      FAR_LOCATIONS.map((loc) =>
        runLoad({
          port: port(service),
          keys: [key],
          connections,
          seconds: undefined,
          amount: perLocation,
          rate,
          headers: { [LOCATION_HEADER]: loc },
          onResponse: (status, ms) => {
            if (status >= 200 && status < 300) latencies.push(ms);
            else refused[status] = (refused[status] ?? 0) + 1;
          },
        }),
      ),
    );
    const recorded = await json(`${base(service)}/__bench/admission-waits`);
    const waits = FAR_LOCATIONS.flatMap((loc) => recorded[loc] ?? []).sort((a, b) => a - b);
    latencies.sort((a, b) => a - b);
    return {
      admission: { p50: percentile(waits, 50), p99: percentile(waits, 99), count: waits.length },
      endToEnd: { p50: percentile(latencies, 50), p99: percentile(latencies, 99) },
      ok: latencies.length,
      refused,
    };
  }

  // Both services at once, on the same machine load, so that load moves both percentiles alike.
  const runs = {};
  for (const mode of ["central", "local"]) {
    const [near, far] = await Promise.all([farRun("keyward-near", mode), farRun("keyward-far", mode)]);
    runs[`keyward-near/${mode}`] = near;
    runs[`keyward-far/${mode}`] = far;
    /** @type {[string, typeof near][]} */
    const named = [
      ["keyward-near", near],
      ["keyward-far", far],
    ];
    for (const [name, run] of named) {
      const [a, e] = [run.admission, run.endToEnd];
      log(
        `  latency ${name}/${mode}: admission wait p50 ${a.p50.toFixed(1)} ms, p99 ${a.p99.toFixed(1)} ms; whole request p50 ${e.p50.toFixed(1)} ms, p99 ${e.p99.toFixed(1)} ms`,
      );
    }
  }
  const added = (mode, p) => runs[`keyward-far/${mode}`].admission[p] - runs[`keyward-near/${mode}`].admission[p];
  const addedWhole = (mode, p) => runs[`keyward-far/${mode}`].endToEnd[p] - runs[`keyward-near/${mode}`].endToEnd[p];
  const holders = await json(`${base("keyward-far")}/__bench/holders`, {
    method: "POST",
    body: JSON.stringify({ keyId: keys.local.record.id, locations: FAR_LOCATIONS }),
  });
  const asks = FAR_LOCATIONS.reduce((n, loc) => n + holders[loc].asks, 0);
  const farRequests = FAR_LOCATIONS.reduce((n, loc) => n + holders[loc].admitted, 0);

  // The hot key beyond one object: four locations on one key, flat out, no distance.
  const hotSeconds = quick ? 1 : 3;
  const hot = { central: keyOf("central", HOT_LIMIT), local: keyOf("local", HOT_LIMIT) };
  await seed(Object.values(hot));
  const hotRuns = {};
  for (const mode of ["central", "local"]) {
    await warm("keyward-near", hot[mode].key, HOT_LOCATIONS);
    const results = await Promise.all(
      HOT_LOCATIONS.map((loc) =>
        runLoad({
          port: port("keyward-near"),
          keys: [hot[mode].key],
          connections: 8,
          seconds: hotSeconds,
          amount: undefined,
          rate: undefined,
          headers: { [LOCATION_HEADER]: loc },
          onResponse: undefined,
        }),
      ),
    );
    const ok = results.reduce((n, r) => n + r.ok, 0);
    const seconds = Math.max(...results.map((r) => r.seconds));
    let guardCalls = ok; // central: every admission is a check at the guard
    if (mode === "local") {
      const described = await json(`${base("keyward-near")}/__bench/holders`, {
        method: "POST",
        body: JSON.stringify({ keyId: hot.local.record.id, locations: HOT_LOCATIONS }),
      });
      guardCalls = HOT_LOCATIONS.reduce((n, loc) => n + described[loc].asks + described[loc].forwarded + described[loc].returned, 0);
    }
    hotRuns[mode] = { rps: ok / seconds, ok, guardCalls, non2xx: results.reduce((n, r) => n + r.non2xx + r.errors + r.timeouts, 0) };
  }

  const result = {
    home: HOME,
    farLocations: FAR_LOCATIONS,
    farMs: FAR_MS,
    nearMs: NEAR_MS,
    limit: limits,
    perLocation,
    connections,
    ratePerLocation: rate,
    loadAverage: { before: loadBefore, after: loadAverage() },
    runs,
    added: {
      central: { p50: added("central", "p50"), p99: added("central", "p99") },
      local: { p50: added("local", "p50"), p99: added("local", "p99") },
    },
    addedWholeRequest: {
      central: { p50: addedWhole("central", "p50"), p99: addedWhole("central", "p99") },
      local: { p50: addedWhole("local", "p50"), p99: addedWhole("local", "p99") },
    },
    localAsks: { asks, admitted: farRequests },
    hot: { locations: HOT_LOCATIONS, seconds: hotSeconds, connectionsPerLocation: 8, ...hotRuns },
  };
  return { result, lines: latencyLines(result) };
}

/** The phase's printed lines (the first two names are fixed: issue 26). */
export function latencyLines(r) {
  const f = (x) => (Number.isFinite(x) ? x.toFixed(1) : "n/a");
  const central = r.added.central.p50;
  const local = r.added.local.p50;
  const refusals = Object.entries(r.runs).filter(([, run]) => Object.keys(run.refused).length > 0);
  return [
    `latency model: guards at ${r.home}; far callers at ${r.farLocations.join(", ")}; a call to the home adds a ${r.farMs} ms round trip, a call within a location ${r.nearMs} ms; ${r.perLocation} requests per far location at ${r.ratePerLocation}/s over ${r.connections} connections; added = a far caller's wait for admission (the gateway's call to the guard, or to its location's lease holder), percentile with distance minus without; load average ${r.loadAverage.before} (before) ${r.loadAverage.after} (after)`,
    `latency keyward-far/central p50: ${f(central)}`,
    `latency keyward-far/central p99: ${f(r.added.central.p99)}`,
    `latency keyward-far/local p50: ${f(local)}`,
    `latency keyward-far/local p99: ${f(r.added.local.p99)}`,
    `latency keyward-far local p50 at most a fifth of central p50: ${Number.isFinite(local) && Number.isFinite(central) && local <= central / 5 ? "yes" : "NO"} (${f(local)} ms against ${f(central / 5)} ms)`,
    `latency keyward-far whole request (client side, for reference): central p50 ${f(r.addedWholeRequest.central.p50)} p99 ${f(r.addedWholeRequest.central.p99)}, local p50 ${f(r.addedWholeRequest.local.p50)} p99 ${f(r.addedWholeRequest.local.p99)}`,
    `latency keyward-far/local asks to the guard: ${r.localAsks.asks} for ${r.localAsks.admitted} admissions at the far locations (limit ${r.limit.limit} per ${r.limit.windowSeconds} s: leases of up to ${Math.ceil(r.limit.limit / 10)})`,
    ...refusals.map(([name, run]) => `latency ${name}: refused ${JSON.stringify(run.refused)} (not in the percentiles)`),
    `hot key, ${r.hot.locations.length} locations on one key, no distance: central ${r.hot.central.rps.toFixed(0)} requests/s (${r.hot.central.guardCalls} guard calls for ${r.hot.central.ok} admitted), local ${r.hot.local.rps.toFixed(0)} requests/s (${r.hot.local.guardCalls} guard calls for ${r.hot.local.ok} admitted)${r.hot.central.non2xx + r.hot.local.non2xx > 0 ? `; not 2xx: central ${r.hot.central.non2xx}, local ${r.hot.local.non2xx}` : ""}`,
  ];
}
