// @ts-check
// Throughput: every scenario at every concurrency, in rounds whose order
// rotates, with the deferred work each many-keys scenario leaves (sweeps and
// usage reports) waited for and counted outside the measured runs.
import { setTimeout as sleep } from "node:timers/promises";
import { elapsed, log } from "../lib/log.mjs";
import { median } from "../lib/stats.mjs";
import { summarizeThroughput } from "../lib/throughput-summary.mjs";

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
      const order = scenarios.map((_, i) => scenarios[(i + round - 1) % scenarios.length]);
      for (const scenario of order) {
        // The sweep itself leaves a report due on every key: let it run before measuring. It comes
        // 5 s after the sweep only once the keys' last reports are a quiet period old (see settleSeconds).
        const reporting = scenario.sweep && scenario.service.startsWith("keyward");
        const lastSettled = settledAt.get(scenario.service);
        if (reporting && lastSettled !== undefined) await sleep(Math.max(0, lastSettled + plan.settleSeconds * 1000 - Date.now()));
        let swept = 0;
        if (scenario.sweep) {
          await sweep(scenario);
          swept = await settle(Math.min(plan.settleSeconds, 6));
        }
        let requests = scenario.sweep ? scenario.keys.length : 0;
        await metering.around(round, scenario, async () => {
          for (const connections of plan.connections) {
            const result = await measure(scenario, connections, plan.seconds, plan.warmup);
            runs.push({ round, connections, scenario: scenario.id, ...result });
            requests += result.requests;
            log(
              `  [${elapsed()}] r${round} c=${connections} ${scenario.id.padEnd(18)} ${result.rps.toFixed(0).padStart(6)} req/s  p50 ${result.p50.toFixed(2)} ms  p99 ${result.p99.toFixed(2)} ms  workerd ${result.cpuMicrosPerRequest.workerd.toFixed(0)} us/req`,
            );
          }
        });
        if (scenario.sweep) {
          // Keyward's many-keys scenario leaves thousands of guards with a report due.
          const ms = swept + (await settle(reporting ? plan.settleSeconds : Math.min(plan.settleSeconds, 66)));
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
