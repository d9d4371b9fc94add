// @ts-check
// The bench's command line (`npm run bench -- --help`) and the plan it makes:
// rounds, durations, key counts and waits, quick or full.
import { parseArgs } from "node:util";

const HELP = `npm run bench -- [options]
  --quick               seconds in all (CI): short runs, 500 keys, one burst cycle, no thresholds
  --profile             also run Keyward variants (no log line, no guard) and CPU-profile each gateway
  --rounds N            rounds of the throughput phase (default 3)
  --seconds S           measured seconds per run (default 4)
  --warmup S            unmeasured seconds before each run (default 1)
  --connections A,B,C   concurrencies (default 8,32,128)
  --keys N              distinct keys of scenario (c) (default 10000, capped by the open-file limit)
  --storage DIR         Durable Object storage directory (default bench/.build/do-storage)
  --scenarios A,B       throughput phase: only these scenario ids (pass-through always runs: every ratio needs it);
                        "many" stands for the many-keys scenarios (keyward, floor, durable floor, peer), e.g. --scenarios keyward-hot-key,floor-hot-key
  --variants A,B        also measure these Keyward wiring variants on the hot key in every round (bench/workers/keyward.ts:
                        nolog, noguard, constguard, foreignguard, combined with +), as scenarios keyward-hot-<variant>;
                        many-<variant> on the many-keys set; floor-noguard: the floor with no Durable Object
  --micro               also measure the request path's pieces one at a time (workerd CPU per operation, no profiler)
  --report-period S     a quiet key's usage report period on the many-keys Keyward services (default 60; production
                        270), as KEYWARD_DEV_QUIET_REPORT_PERIOD_MS: the same reports, sooner (docs/performance.md)
  --settle S            seconds between the last reports of Keyward's many keys and their next sweep (default: the
                        report period + 6); 0 (quick) skips every wait. After a many-keys scenario the bench waits until
                        its deferred work is due and done (Keyward's reports, the peer's window alarms, evictions), then
                        until workerd is idle
  --micro-ops A,B       with --micro: only these operations (e.g. app-credits,app-metered: one request of a key with
                        credits, plain and on a metered route, settled from its Keyward-Charge header)
  --micro-profile OP    with --micro: also CPU-profile 20,000 runs of one operation (bench/.build/micro-OP.cpuprofile)
  --cold-samples N      fresh workerd processes per Worker in the cold-start phase (default 9; quick 3)
  --skip-throughput | --skip-accuracy | --skip-cost | --skip-coldstart | --skip-latency`;

/** A key limit no scenario reaches. */
export const BIG_LIMIT = { limit: 1_000_000_000, windowSeconds: 60 };
/** The metered scenario's route policy: every request on /v1/metered holds 100 and is settled from Keyward-Charge. */
export const METERED_POLICY = { rules: [{ method: "*", path: "/v1/metered", permission: null, reserve: 100 }] };
/** USD per million, Workers Paid, beyond included usage. */
export const PRICES = { kvRead: 0.5, doRequest: 0.15, rowWritten: 1.0 };

/** Parses the command line (prints the help and exits on --help); returns the options and the plan made from them. */
export function readOptions() {
  const { values: cli } = parseArgs({
    options: {
      quick: { type: "boolean", default: false },
      profile: { type: "boolean", default: false },
      rounds: { type: "string" },
      seconds: { type: "string" },
      warmup: { type: "string" },
      connections: { type: "string" },
      keys: { type: "string" },
      storage: { type: "string" },
      scenarios: { type: "string" },
      variants: { type: "string" },
      "skip-throughput": { type: "boolean", default: false },
      "skip-accuracy": { type: "boolean", default: false },
      "skip-cost": { type: "boolean", default: false },
      "skip-coldstart": { type: "boolean", default: false },
      "skip-latency": { type: "boolean", default: false },
      micro: { type: "boolean", default: false },
      "micro-profile": { type: "string" },
      "micro-ops": { type: "string" },
      settle: { type: "string" },
      "report-period": { type: "string" },
      "cold-samples": { type: "string" },
      help: { type: "boolean", default: false },
    },
  });
  if (cli.help) {
    console.log(HELP);
    process.exit(0);
  }
  const quick = cli.quick;
  const plan = {
    rounds: Number(cli.rounds ?? 3),
    seconds: Number(cli.seconds ?? (quick ? 0.3 : 4)),
    warmup: Number(cli.warmup ?? (quick ? 0.1 : 1)),
    connections: (cli.connections ?? (quick ? "16" : "8,32,128")).split(",").map(Number),
    keys: Number(cli.keys ?? (quick ? 500 : 10_000)),
    accuracy: quick
      ? { limit: 20, windowSeconds: 1, steadySeconds: 0, burstCycles: 1, connections: 16, toleranceMs: 20 }
      : { limit: 100, windowSeconds: 2, steadySeconds: 8, burstCycles: 3, connections: 32, toleranceMs: 20 },
    costRequests: quick ? 50 : 1000,
    // Sequential requests of the sparse kinds (the slow regimes are computed from them: bench/lib/cost-regimes.mjs).
    sparseRequests: quick ? 3 : 10,
    profileRounds: quick ? 1 : 3,
    // A quiet key's guard reports at most once per report period, 5 s after its first
    // unreported request (QUIET_REPORT_PERIOD_MS, 4.5 minutes, and REPORT_DELAY_MS in
    // src/usage/usage-report.ts). The many-keys Keyward services run with a shorter period
    // (KEYWARD_DEV_QUIET_REPORT_PERIOD_MS): the same reports, each round's coming a minute
    // after its sweep instead of 4.5 minutes. It must be longer than from the sweep to the
    // end of the measured runs (about 45 s), or reports land in them (the bench warns).
    reportPeriodSeconds: Number(cli["report-period"] ?? 60),
    coldStartSamples: Number(cli["cold-samples"] ?? (quick ? 3 : 9)),
  };
  // A sweep of Keyward's many keys waits this long after their last reports, so that its own
  // reports come with it, before the measured runs. (After each many-keys scenario the
  // throughput phase waits for its deferred work: bench/phases/throughput.mjs deferredUntil.)
  return { cli, quick, plan: { ...plan, settleSeconds: Number(cli.settle ?? (quick ? 0 : plan.reportPeriodSeconds + 6)) } };
}

/** @typedef {ReturnType<typeof readOptions>} Options */
