// @ts-check
// Report: the JSON (every number) and Markdown files under bench/results/, the
// Markdown on stdout, then one line per headline figure.
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { regimeLines } from "../lib/cost-regimes.mjs";
import { floorSplitLines, fmtSigned } from "../lib/floor-split.mjs";
import { elapsedSeconds } from "../lib/log.mjs";
import { keyCap, machine } from "../lib/machine.mjs";
import { PRICES } from "../lib/options.mjs";
import { renderMarkdown } from "../lib/report.mjs";
import { BENCH_DIR } from "../lib/workerd.mjs";
import { ratioOfScenarios } from "./metering.mjs";

/**
 * Writes the report files and prints the report.
 * @param {import("./setup.mjs").Bench} bench
 * @param {import("./scenarios.mjs").Scenarios} scenarioSet
 * @param {{ throughput: any, runs: any[], profile: any, micro: any, accuracy: any[], cost: any[], costRegimes: any, metering: Record<string, any>, coldStart: any, latency: { result: object, lines: string[] } | null }} results
 */
export function writeReport({ quick, plan, manyCount }, { scenarios, manyId }, results) {
  const { throughput, profile, costRegimes, coldStart } = results;
  const report = {
    generatedAt: new Date().toISOString(),
    mode: quick ? "quick" : "full",
    durationSeconds: elapsedSeconds(),
    machine,
    plan: { ...plan, keys: manyCount, requestedKeys: plan.keys, keyCap },
    prices: PRICES,
    scenarios: scenarios.map(({ id, label }) => ({ id, label })),
    throughput,
    profile,
    micro: results.micro,
    accuracy: results.accuracy,
    cost: results.cost,
    costRegimes,
    metering: results.metering,
    coldStart,
    latency: results.latency?.result ?? null,
    runs: results.runs,
  };
  const resultsDir = path.join(BENCH_DIR, "results");
  mkdirSync(resultsDir, { recursive: true });
  const stamp = report.generatedAt.replace(/[:.]/g, "-");
  const jsonFile = path.join(resultsDir, `bench-${stamp}.json`);
  const mdFile = path.join(resultsDir, `bench-${stamp}.md`);
  writeFileSync(jsonFile, `${JSON.stringify(report, null, 2)}\n`);
  const markdown = renderMarkdown(report);
  writeFileSync(mdFile, markdown);
  copyFileSync(jsonFile, path.join(resultsDir, "latest.json"));
  copyFileSync(mdFile, path.join(resultsDir, "latest.md"));

  console.log(markdown);
  console.log(`results: ${path.relative(process.cwd(), jsonFile)} and ${path.relative(process.cwd(), mdFile)}`);
  for (const s of scenarios.slice(1)) {
    const overall = throughput.overall[s.id];
    console.log(`ratio ${s.id}/pass-through: ${overall ? overall.rpsRatio.median.toFixed(2) : "n/a"}`);
  }
  // Metered against plain credits on the hot key (the target: within 10 %), per round and concurrency.
  const metered = ratioOfScenarios(results.runs, "keyward-hot-metered", "keyward-hot-credits");
  console.log(
    `ratio keyward-metered/keyward-credits: ${metered ? `${metered.median.toFixed(2)} (min ${metered.min.toFixed(2)}, max ${metered.max.toFixed(2)}, ${metered.values.length} runs)` : "n/a"}`,
  );
  for (const [id, m] of Object.entries(results.metering)) {
    console.log(`rows per admitted request, ${id}: ${m.rowsPerAdmitted.toFixed(3)}; guard RPCs per admitted request: ${m.guardRpcsPerAdmitted.toFixed(3)}`);
  }
  // Against the design's own floor, under fixed names (the many-keys count is in the tables).
  const pairs = [
    ["hot-key", "keyward-hot-key"],
    ["many-keys", manyId],
  ];
  for (const [name, id] of pairs) {
    const overall = throughput.overall[id];
    console.log(`ratio keyward-${name}/floor-${name}: ${overall?.floorRatio ? overall.floorRatio.median.toFixed(2) : "n/a"}`);
  }
  // Against the durable floor (the floor with a durable window per key): what part of the gap to the floor is the
  // contract's durability (docs/performance.md). The same median, and the CPU difference per run.
  const durable = throughput.overall[manyId]?.durableFloor;
  console.log(`ratio keyward-many-keys/floor-many-durable: ${durable ? durable.rpsRatio.median.toFixed(2) : "n/a"}`);
  console.log(
    `cpu keyward-many-keys over floor-many-durable: ${durable ? `${fmtSigned(durable.cpuOver.median)} µs/request (median over runs; durable floor ${durable.cpu.median.toFixed(0)})` : "n/a"}`,
  );
  // Against the peer on the same many keys (median over rounds and concurrencies of the per-run ratio).
  console.log(
    `ratio keyward-many-keys/peer-many-keys: ${throughput.overall[manyId]?.peerRatio ? throughput.overall[manyId].peerRatio.median.toFixed(2) : "n/a"}`,
  );
  // The same comparison in CPU per request: on a saturated workerd thread it is
  // the throughput ratio, and other load on a shared machine disturbs it less.
  for (const [name, id] of pairs) {
    const overall = throughput.overall[id];
    console.log(`cpu ratio floor-${name}/keyward-${name}: ${overall?.floorCpu ? (overall.floorCpu.median / overall.cpu.median).toFixed(2) : "n/a"}`);
  }
  for (const [name, id] of pairs) {
    const overall = throughput.overall[id];
    console.log(
      `cpu keyward-${name} over floor-${name}: ${overall?.cpuOverFloor ? `${fmtSigned(overall.cpuOverFloor.median)} µs/request (median over runs; keyward ${overall.cpu.median.toFixed(0)}, floor ${overall.floorCpu.median.toFixed(0)})` : "n/a"}`,
    );
  }
  if (costRegimes) for (const line of regimeLines(costRegimes)) console.log(line);
  for (const d of throughput.deferred ?? []) console.log(`deferred cpu after ${d.scenario}: ${d.microsPerRequest.toFixed(0)} µs/request (median over rounds)`);
  if (coldStart) {
    const k = coldStart.summary.keyward;
    const p = coldStart.summary["pass-through"];
    console.log(
      `cold start keyward: listening ${k.listenMs.toFixed(0)} ms (CPU ${k.listenCpuMs.toFixed(0)} ms), first response ${k.firstMs.toFixed(1)} ms (CPU ${k.firstCpuMs.toFixed(1)} ms); pass-through: ${p.listenMs.toFixed(0)} ms (CPU ${p.listenCpuMs.toFixed(0)} ms), ${p.firstMs.toFixed(1)} ms (CPU ${p.firstCpuMs.toFixed(1)} ms); main module ${(coldStart.bundle.modules[0].gzipBytes / 1024).toFixed(0)} KiB gzip`,
    );
  }
  for (const line of results.latency?.lines ?? []) console.log(line);
  if (profile?.floorSplit) {
    for (const line of floorSplitLines(profile.floorSplit)) console.log(line);
  }
}
