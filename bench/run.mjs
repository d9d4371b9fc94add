#!/usr/bin/env node
// @ts-check
// `npm run bench [-- --quick] [-- --profile]`: Keyward against a pass-through
// proxy and the do-it-yourself peer, all in `workerd serve` on loopback. See
// docs/performance.md for what is measured and how to read the results.
// The driver: one module per phase under bench/phases/, run in this order.
import { log } from "./lib/log.mjs";
import { readOptions } from "./lib/options.mjs";
import { shutdown, stopChildren } from "./lib/processes.mjs";
import { runAccuracy } from "./phases/accuracy.mjs";
import { runColdStart } from "./phases/cold-start.mjs";
import { runCost } from "./phases/cost.mjs";
import { runLatency } from "./phases/latency.mjs";
import { meteringCounter } from "./phases/metering.mjs";
import { runMicro } from "./phases/micro.mjs";
import { prime } from "./phases/prime.mjs";
import { runProfile } from "./phases/profile.mjs";
import { writeReport } from "./phases/report.mjs";
import { buildScenarios } from "./phases/scenarios.mjs";
import { setup } from "./phases/setup.mjs";
import { runThroughput } from "./phases/throughput.mjs";

const options = readOptions();
const { cli } = options;

async function run() {
  const bench = await setup(options);
  const settledAt = await prime(bench);
  const scenarioSet = buildScenarios(bench);
  const micro = cli.micro ? await runMicro(bench) : null;
  const coldStart = cli["skip-coldstart"] ? null : await runColdStart(bench);
  const meter = meteringCounter(bench);
  const { runs, throughput } = await runThroughput(bench, scenarioSet.scenarios, settledAt, meter);
  const profile = cli.profile ? await runProfile(bench, scenarioSet) : null;
  const accuracy = cli["skip-accuracy"] ? [] : await runAccuracy(bench);
  const { cost, costRegimes } = cli["skip-cost"] ? { cost: [], costRegimes: null } : await runCost(bench);
  const metering = meter.summarize();
  const latency = cli["skip-latency"] ? null : await runLatency(bench);
  stopChildren();
  writeReport(bench, scenarioSet, { throughput, runs, profile, micro, accuracy, cost, costRegimes, metering, coldStart, latency });
}

let code = 0;
try {
  await run();
} catch (error) {
  log(error);
  code = 1;
} finally {
  await shutdown();
}
// Exit now: nothing may keep the run going (CI relies on that).
process.exit(code);
