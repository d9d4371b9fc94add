// @ts-check
// Throughput: every scenario at every concurrency, in rounds whose order
// rotates, with the deferred work each many-keys scenario leaves (sweeps and
// usage reports) waited for and counted outside the measured runs.
import { setTimeout as sleep } from "node:timers/promises";
import { elapsed, log } from "../lib/log.mjs";
import { BIG_LIMIT } from "../lib/options.mjs";
import { combineSlices, sliceOrder } from "../lib/paired-runs.mjs";
import { median } from "../lib/stats.mjs";
import { summarizeThroughput } from "../lib/throughput-summary.mjs";

/** A key's report comes this long after its first unreported request (REPORT_DELAY_MS in src/usage/usage-report.ts). */
const REPORT_DELAY_MS = 5_000;

/** workerd evicts an object left idle for 10 s; a margin on top. */
const EVICTED_AFTER_MS = 12_000;

/**
 * When the deferred work a many-keys scenario leaves is due and done (ms since the epoch):
 * - Keyward's: each key's next report, a report period after its sweep's (which came with
 *   the sweep's request or 5 s after it), or after the runs' if those outlasted the period; then the
 *   guards' eviction after it (the alarm woke them);
 * - the peer's: a window alarm per key 60 s (BIG_LIMIT's window) after the request that
 *   opened the window, the sweep's, or the runs' if those outlasted it; then the eviction;
 * - the floor's: its objects' eviction after the runs (nothing else is deferred).
 */
function deferredUntil(scenario, reporting, { sweptStart, sweptEnd, measuredEnd }, reportPeriodSeconds) {
  const after = (start, ms) => Math.max(start + ms, measuredEnd) + EVICTED_AFTER_MS;
  if (reporting) {
    const periodMs = reportPeriodSeconds * 1000;
    return after(measuredEnd > sweptStart + periodMs ? measuredEnd : sweptEnd, REPORT_DELAY_MS + periodMs);
  }
  if (scenario.service === "peer") {
    const windowMs = BIG_LIMIT.windowSeconds * 1000;
    return after(measuredEnd > sweptStart + windowMs ? measuredEnd : sweptEnd, windowMs);
  }
  return measuredEnd + EVICTED_AFTER_MS;
}

/**
 * Scenarios compared with each other as a ratio, by id: [baseline, compared]. They are measured
 * together, in the first's slot of the round's order, in alternating slices at each concurrency
 * (sliceOrder: ABBA or BAAB, sliceSeconds each, each after its own warm-up), and each
 * one's run is combined from its two slices (combineSlices). Measured one after the other, a
 * slowdown of workerd that began between them fell on the second alone: in full runs, after the
 * many-keys scenarios, workerd's CPU per request of every scenario rose by a third or more
 * within a few seconds, metered or not (docs/performance.md, the metered route). Interleaved,
 * whatever drifts meets both alike.
 */
const PAIRS = [["keyward-hot-credits", "keyward-hot-metered"]];

/** A shorter slice can end before any response (seen in --quick at 0.15 s under load): at least the quick mode's run. */
const MIN_SLICE_SECONDS = 0.3;

/** A pair's slice: half a run's measured seconds, so that each scenario is measured as long as one alone. */
const sliceSeconds = (runSeconds) => Math.max(runSeconds / 2, MIN_SLICE_SECONDS);

/**
 * The round's order of units: a scenario alone, or a pair of PAIRS (both present) in the slot of its first.
 * @template {{ id: string }} S
 * @param {S[]} scenarios
 * @returns {(S | [S, S])[]}
 */
function units(scenarios) {
  const byId = new Map(scenarios.map((s) => [s.id, s]));
  const pairs = PAIRS.map(([a, b]) => [byId.get(a), byId.get(b)]).filter(([a, b]) => a !== undefined && b !== undefined);
  const second = new Set(pairs.map(([, b]) => b));
  return scenarios
    .filter((s) => !second.has(s))
    .map((s) => {
      const pair = pairs.find(([a]) => a === s);
      return pair ? /** @type {[S, S]} */ (pair) : s;
    });
}

/**
 * The per-run line's tail: workerd's CPU split into user and kernel time, and, for a gateway that counts them,
 * its objects' wakes, SQL statements and rows read and written per request (bench/workers/storage-counts.ts).
 */
function perRequestCounts(result) {
  const cpu = result.cpuMicrosPerRequest;
  const split = ` (user ${cpu.workerdUser.toFixed(0)}, sys ${cpu.workerdSystem.toFixed(0)}; minor faults ${result.workerdMinorFaultsPerRequest.toFixed(1)}/req)`;
  const s = result.storagePerRequest;
  if (!s) return split;
  return `${split}  per req: wakes ${s.wakes.toFixed(2)} sql ${s.statements.toFixed(2)} rows r ${s.rowsRead.toFixed(2)} w ${s.rowsWritten.toFixed(2)} alarms set ${(s.alarmSets ?? 0).toFixed(2)} rpc ${s.rpcs.toFixed(2)}`;
}

/** A run's line: requests/s, latency, workerd's CPU and the gateway's counts per request. */
function logRun(round, connections, id, result) {
  log(
    `  [${elapsed()}] r${round} c=${connections} ${id.padEnd(18)} ${result.rps.toFixed(0).padStart(6)} req/s  p50 ${result.p50.toFixed(2)} ms  p99 ${result.p99.toFixed(2)} ms  workerd ${result.cpuMicrosPerRequest.workerd.toFixed(0)} us/req${perRequestCounts(result)}`,
  );
}

/**
 * Measures a pair of PAIRS at every concurrency in alternating slices (sliceOrder), each slice
 * half a run's seconds after a full warm-up; logs each slice, then each scenario's run
 * combined from its two slices, which is what the summary and the pair's ratio use.
 * @param {import("./setup.mjs").Bench} bench
 * @param {[import("./scenarios.mjs").Scenario, import("./scenarios.mjs").Scenario]} pair
 * @param {number} round
 * @param {any[]} runs
 * @param {ReturnType<typeof import("./metering.mjs").meteringCounter>} metering
 */
async function runPair({ plan, measure, workerdState }, [a, b], round, runs, metering) {
  log(`  [${elapsed()}] r${round} ${a.id} and ${b.id} in alternating slices; before them ${await workerdState()}`);
  await metering.around(round, a, () =>
    metering.around(round, b, async () => {
      for (const [index, connections] of plan.connections.entries()) {
        /** @type {Map<string, any[]>} */
        const slices = new Map([
          [a.id, []],
          [b.id, []],
        ]);
        for (const scenario of sliceOrder(a, b, round, index)) {
          const result = await measure(scenario, connections, sliceSeconds(plan.seconds), plan.warmup);
          slices.get(scenario.id)?.push(result);
          log(
            `    [${elapsed()}] r${round} c=${connections} slice ${scenario.id.padEnd(18)} ${result.rps.toFixed(0).padStart(6)} req/s  workerd ${result.cpuMicrosPerRequest.workerd.toFixed(0)} us/req`,
          );
        }
        for (const scenario of [a, b]) {
          const result = combineSlices(slices.get(scenario.id) ?? []);
          runs.push({ round, connections, scenario: scenario.id, ...result });
          logRun(round, connections, scenario.id, result);
        }
      }
    }),
  );
}

/**
 * Runs the throughput phase (none with --skip-throughput); returns every run and their summary.
 * @param {import("./setup.mjs").Bench} bench
 * @param {import("./scenarios.mjs").Scenario[]} scenarios
 * @param {Map<string, number>} settledAt when each Keyward service's many keys last finished reporting (from priming)
 * @param {ReturnType<typeof import("./metering.mjs").meteringCounter>} metering counts rows and guard calls around the metering scenarios' runs
 */
export async function runThroughput(bench, scenarios, settledAt, metering) {
  const { cli, plan, settle, sweep, measure } = bench;
  const runs = [];
  const deferred = [];
  if (!cli["skip-throughput"]) {
    log(
      `[${elapsed()}] throughput: ${plan.rounds} rounds x ${plan.connections.join("/")} connections x ${scenarios.length} scenarios, ${plan.seconds}s each (+${plan.warmup}s warm-up)`,
    );
    for (let round = 1; round <= plan.rounds; round++) {
      // Rotate the order each round so that no scenario always runs first or last.
      const order = units(scenarios);
      log(`  [${elapsed()}] round ${round}: ${await bench.workerdState()}`);
      for (const unit of order.map((_, i) => order[(i + round - 1) % order.length])) {
        if (Array.isArray(unit)) {
          await runPair(bench, unit, round, runs, metering);
          continue;
        }
        const scenario = unit;
        // The sweep brings a report from every key: let it be sent before measuring. It comes with
        // the sweep (from the request, or the alarm 5 s later) only once the keys' last reports are
        // a quiet period old (see settleSeconds); else a period after them, in the runs.
        const reporting = scenario.sweep && scenario.service.startsWith("keyward");
        const lastSettled = settledAt.get(scenario.service);
        if (reporting && lastSettled !== undefined) await sleep(Math.max(0, lastSettled + plan.settleSeconds * 1000 - Date.now()));
        let swept = 0;
        const times = { sweptStart: Date.now(), sweptEnd: Date.now(), measuredEnd: 0 };
        if (scenario.sweep) {
          await sweep(scenario);
          times.sweptEnd = Date.now();
          // Only Keyward's sweep leaves work due right after it (its keys' reports).
          swept = await settle(reporting ? Math.min(plan.settleSeconds, 6) : 0);
        }
        let requests = scenario.sweep ? scenario.keys.length : 0;
        await metering.around(round, scenario, async () => {
          for (const connections of plan.connections) {
            const result = await measure(scenario, connections, plan.seconds, plan.warmup);
            runs.push({ round, connections, scenario: scenario.id, ...result });
            requests += result.requests;
            logRun(round, connections, scenario.id, result);
          }
        });
        times.measuredEnd = Date.now();
        if (reporting && plan.settleSeconds > 0 && times.measuredEnd > times.sweptStart + plan.reportPeriodSeconds * 1000) {
          // Its keys' next reports are due a report period after the sweep's (at the earliest the sweep itself).
          log(
            `  warning: ${scenario.id}: its keys' next usage reports may have come during its measured runs (${((times.measuredEnd - times.sweptStart) / 1000).toFixed(0)} s from the sweep to their end, report period ${plan.reportPeriodSeconds} s): raise --report-period`,
          );
        }
        if (scenario.sweep) {
          // A many-keys scenario leaves deferred work behind: wait until it is due and done (deferredUntil), then until workerd is idle.
          const after = plan.settleSeconds > 0 ? Math.max(0, deferredUntil(scenario, reporting, times, plan.reportPeriodSeconds) - Date.now()) / 1000 : 0;
          const ms = swept + (await settle(after));
          if (reporting) settledAt.set(scenario.service, Date.now());
          const entry = { round, scenario: scenario.id, ms, requests, microsPerRequest: (ms * 1000) / Math.max(1, requests) };
          deferred.push(entry);
          log(
            `  [${elapsed()}] r${round} ${scenario.id}: deferred work after it ${ms.toFixed(0)} ms of workerd CPU, ${entry.microsPerRequest.toFixed(0)} us per request`,
          );
        }
      }
    }
  }
  const throughput = summarizeThroughput(runs, scenarios, plan.connections);
  const deferredSummary = [...new Set(deferred.map((d) => d.scenario))].map((scenario) => {
    const list = deferred.filter((d) => d.scenario === scenario);
    return { scenario, microsPerRequest: median(list.map((d) => d.microsPerRequest)), rounds: list };
  });
  return { runs, throughput: { ...throughput, deferred: deferredSummary } };
}
