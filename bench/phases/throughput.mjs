// @ts-check
// Throughput: every scenario at every concurrency, in rounds whose order
// rotates, with the deferred work each many-keys scenario leaves (sweeps and
// usage reports) waited for and counted outside the measured runs.
import { setTimeout as sleep } from "node:timers/promises";
import { elapsed, log } from "../lib/log.mjs";
import { BIG_LIMIT } from "../lib/options.mjs";
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
 * Scenarios compared with each other as a ratio, by id: [baseline, compared]. Rotation keeps
 * them side by side, so one would always run right after the other, and a drift of the
 * machine that starts between them would fall on the second alone (the quiet full run of
 * 2026-12-06T22:57Z: docs/performance.md, the metered route). In even rounds the second
 * goes first.
 */
const PAIRS = [["keyward-hot-credits", "keyward-hot-metered"]];

/**
 * The round's order with each pair of PAIRS swapped in even rounds.
 * @template {{ id: string }} S
 * @param {S[]} order
 * @param {number} round
 * @returns {S[]}
 */
function pairsSwapped(order, round) {
  if (round % 2 === 1) return order;
  const out = [...order];
  for (const [a, b] of PAIRS) {
    const i = out.findIndex((s) => s.id === a);
    const j = out.findIndex((s) => s.id === b);
    if (i === -1 || j === -1) continue;
    [out[i], out[j]] = [/** @type {S} */ (out[j]), /** @type {S} */ (out[i])];
  }
  return out;
}

/**
 * The per-run line's tail: workerd's CPU split into user and kernel time, and, for a gateway that counts them,
 * its objects' wakes, SQL statements and rows read and written per request (bench/workers/storage-counts.ts).
 */
function perRequestCounts(result) {
  const cpu = result.cpuMicrosPerRequest;
  const split = ` (user ${cpu.workerdUser.toFixed(0)}, sys ${cpu.workerdSystem.toFixed(0)})`;
  const s = result.storagePerRequest;
  if (!s) return split;
  return `${split}  per req: wakes ${s.wakes.toFixed(2)} sql ${s.statements.toFixed(2)} rows r ${s.rowsRead.toFixed(2)} w ${s.rowsWritten.toFixed(2)} alarms set ${(s.alarmSets ?? 0).toFixed(2)} rpc ${s.rpcs.toFixed(2)}`;
}

/**
 * Runs the throughput phase (none with --skip-throughput); returns every run and their summary.
 * @param {import("./setup.mjs").Bench} bench
 * @param {import("./scenarios.mjs").Scenario[]} scenarios
 * @param {Map<string, number>} settledAt when each Keyward service's many keys last finished reporting (from priming)
 * @param {ReturnType<typeof import("./metering.mjs").meteringCounter>} metering counts rows and guard calls around the metering scenarios' runs
 */
export async function runThroughput({ cli, plan, settle, sweep, measure }, scenarios, settledAt, metering) {
  const runs = [];
  const deferred = [];
  if (!cli["skip-throughput"]) {
    log(
      `[${elapsed()}] throughput: ${plan.rounds} rounds x ${plan.connections.join("/")} connections x ${scenarios.length} scenarios, ${plan.seconds}s each (+${plan.warmup}s warm-up)`,
    );
    for (let round = 1; round <= plan.rounds; round++) {
      // Rotate the order each round so that no scenario always runs first or last.
      const order = pairsSwapped(
        scenarios.map((_, i) => scenarios[(i + round - 1) % scenarios.length]),
        round,
      );
      for (const scenario of order) {
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
            log(
              `  [${elapsed()}] r${round} c=${connections} ${scenario.id.padEnd(18)} ${result.rps.toFixed(0).padStart(6)} req/s  p50 ${result.p50.toFixed(2)} ms  p99 ${result.p99.toFixed(2)} ms  workerd ${result.cpuMicrosPerRequest.workerd.toFixed(0)} us/req${perRequestCounts(result)}`,
            );
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
