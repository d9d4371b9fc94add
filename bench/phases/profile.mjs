// @ts-check
// Profile (--profile): Keyward's wiring variants measured beside its hot key and
// floor, then a sampling CPU profile of each gateway's isolate (its Durable
// Objects run in the same isolate), by source module of the bundle.
import { writeFileSync } from "node:fs";
import path from "node:path";
import { moduleMap, profileWhile, summarize } from "../lib/cpuprofile.mjs";
import { floorSplit } from "../lib/floor-split.mjs";
import { runLoad } from "../lib/load.mjs";
import { elapsed, log } from "../lib/log.mjs";
import { summarizeThroughput } from "../lib/throughput-summary.mjs";
import { BUILD_DIR } from "../lib/workerd.mjs";

/**
 * Runs the profile phase.
 * @param {import("./setup.mjs").Bench} bench
 * @param {import("./scenarios.mjs").Scenarios} scenarioSet
 */
export async function runProfile(bench, { scenarios, scenarioById }) {
  const { plan, port, workerd, workerdCpu, keys, variants, sweep, measure, storageCounts } = bench;
  const c = plan.connections.includes(32) ? 32 : plan.connections[0];
  const profiled = [
    // Always there: --scenarios drops scenarios from the rounds, not from allScenarios.
    ...["pass-through", "keyward-hot-key", "floor-hot-key"].map((id) => /** @type {import("./scenarios.mjs").Scenario} */ (scenarioById(id))),
    { id: "floor-hot-key-keyward-payload", service: "floor-payload", keys: [keys.hot.key] },
    ...variants.profiled.map((v) => ({ id: `keyward-hot-${v}`, service: `keyward-${v.replaceAll("+", "-")}`, keys: [keys.hot.key] })),
  ];
  const profileRuns = [];
  log(`[${elapsed()}] profile: Keyward variants at c=${c}, ${plan.profileRounds} rounds`);
  for (let round = 1; round <= plan.profileRounds; round++) {
    for (const scenario of profiled) {
      const result = await measure(scenario, c, plan.seconds, plan.warmup);
      profileRuns.push({ round, connections: c, scenario: scenario.id, ...result });
      log(
        `  [${elapsed()}] r${round} ${scenario.id.padEnd(34)} ${result.rps.toFixed(0).padStart(6)} req/s  workerd ${result.cpuMicrosPerRequest.workerd.toFixed(0)} us/req`,
      );
    }
  }
  /** @type {any[]} */
  const cpu = [];
  /** @type {ReturnType<typeof floorSplit>[]} */
  const splits = [];
  const profile = { connections: c, ...summarizeThroughput(profileRuns, profiled, [c]), runs: profileRuns, cpu, floorSplit: splits };

  for (const scenario of scenarios) {
    if (scenario.sweep) await sweep(scenario);
    const module = scenario.service.startsWith("keyward")
      ? "keyward"
      : scenario.service.startsWith("floor")
        ? "floor"
        : scenario.service === "pass-through"
          ? "passthrough"
          : scenario.service;
    const moduleOf = moduleMap(path.join(BUILD_DIR, `${module}.js`));
    await runLoad({
      port: port(scenario.service),
      keys: scenario.keys,
      connections: c,
      seconds: plan.warmup,
      ...(scenario.path ? { path: scenario.path } : {}),
    });
    const cpu0 = workerdCpu();
    const counts0 = await storageCounts(scenario.service);
    const { result, profile: cpuProfile } = await profileWhile({ port: workerd.ports["(inspector)"], target: scenario.service }, () =>
      runLoad({
        port: port(scenario.service),
        keys: scenario.keys,
        connections: c,
        seconds: plan.seconds,
        ...(scenario.path ? { path: scenario.path } : {}),
      }),
    );
    const workerdMs = workerdCpu() - cpu0;
    const counts1 = await storageCounts(scenario.service);
    // The raw profile too, for Chrome DevTools or a closer look (bench/.build is not committed).
    writeFileSync(path.join(BUILD_DIR, `profile-${scenario.id}.cpuprofile`), JSON.stringify(cpuProfile));
    const { buckets, stages, topFunctions } = summarize(cpuProfile, { bundleUrl: `${module}.js`, moduleOf });
    const per = (ms) => (ms * 1000) / Math.max(1, result.requests);
    const entry = {
      scenario: scenario.id,
      requests: result.requests,
      rps: result.rps,
      workerdMicrosPerRequest: per(workerdMs),
      microsPerRequest: Object.fromEntries(Object.entries(buckets).map(([k, v]) => [k, per(v)])),
      stagesMicrosPerRequest: Object.fromEntries(Object.entries(stages).map(([k, v]) => [k, per(v)])),
      // What the profiled requests did to the gateway's objects (wakes, statements, rows, alarms), per request: a
      // many-keys profile is read with how many of its requests woke their guard (docs/performance.md).
      ...(counts0 && counts1
        ? { storagePerRequest: Object.fromEntries(Object.keys(counts1).map((k) => [k, (counts1[k] - counts0[k]) / Math.max(1, result.requests)])) }
        : {}),
      topFunctionsMicrosPerRequest: Object.fromEntries(Object.entries(topFunctions).map(([k, v]) => [k, per(v)])),
    };
    profile.cpu.push(entry);
    const top = Object.entries(entry.microsPerRequest)
      .filter(([k]) => k !== "(idle)")
      .slice(0, 6)
      .map(([k, v]) => `${k} ${v.toFixed(0)}`)
      .join(", ");
    const wakes = entry.storagePerRequest ? `, ${entry.storagePerRequest.wakes.toFixed(2)} wakes/req` : "";
    log(
      `  [${elapsed()}] cpu profile ${scenario.id}: ${result.rps.toFixed(0)} req/s, workerd ${entry.workerdMicrosPerRequest.toFixed(0)} us/req${wakes}; ${top}`,
    );
  }
  profile.floorSplit = scenarios
    .filter((s) => s.floor)
    .map((s) =>
      floorSplit(
        profile.cpu.find((p) => p.scenario === s.id),
        profile.cpu.find((p) => p.scenario === s.floor),
      ),
    )
    .filter(Boolean);
  return profile;
}
