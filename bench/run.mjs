#!/usr/bin/env node
// `npm run bench [-- --quick] [-- --profile]`: Keyward against a pass-through
// proxy and the do-it-yourself peer, all in `workerd serve` on loopback. See
// docs/performance.md for what is measured and how to read the results.
import { execFileSync, fork, spawn } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { coldStarts, dryRunBuild } from "./lib/coldstart.mjs";
import { BUSY_RATE, priceRegimes, regimeLines } from "./lib/cost-regimes.mjs";
import { moduleMap, profileWhile, summarize } from "./lib/cpuprofile.mjs";
import { generateKey, makeKey, malformedKey } from "./lib/keys.mjs";
import { runLoad } from "./lib/load.mjs";
import { renderMarkdown } from "./lib/report.mjs";
import { admissions, median, summary } from "./lib/stats.mjs";
import { BENCH_DIR, BUILD_DIR, bundle, resetStorage, WORKERD, writeConfig } from "./lib/workerd.mjs";

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
    micro: { type: "boolean", default: false },
    "micro-profile": { type: "string" },
    settle: { type: "string" },
    "cold-samples": { type: "string" },
    help: { type: "boolean", default: false },
  },
});

if (cli.help) {
  console.log(`npm run bench -- [options]
  --quick               seconds in all (CI): short runs, 500 keys, one burst cycle, no thresholds
  --profile             also run Keyward variants (no log line, no guard) and CPU-profile each gateway
  --rounds N            rounds of the throughput phase (default 3)
  --seconds S           measured seconds per run (default 4)
  --warmup S            unmeasured seconds before each run (default 1)
  --connections A,B,C   concurrencies (default 8,32,128)
  --keys N              distinct keys of scenario (c) (default 10000, capped by the open-file limit)
  --storage DIR         Durable Object storage directory (default bench/.build/do-storage)
  --scenarios A,B       throughput phase: only these scenario ids (pass-through always runs: every ratio needs it);
                        "many" stands for the many-keys scenarios (keyward, floor, peer), e.g. --scenarios keyward-hot-key,floor-hot-key
  --variants A,B        also measure these Keyward wiring variants on the hot key in every round (bench/workers/keyward.ts:
                        nolog, noguard, constguard, foreignguard, combined with +), as scenarios keyward-hot-<variant>;
                        many-<variant> on the many-keys set; floor-noguard: the floor with no Durable Object
  --micro               also measure the request path's pieces one at a time (workerd CPU per operation, no profiler)
  --settle S            seconds to wait after priming and after Keyward's many-keys scenario before the next, and
                        between its keys' last reports and its next sweep (default 276: a quiet key's report period
                        and delay; floor and peer at most 66; quick 0), then until workerd is idle
  --micro-profile OP    with --micro: also CPU-profile 20,000 runs of one operation (bench/.build/micro-OP.cpuprofile)
  --cold-samples N      fresh workerd processes per Worker in the cold-start phase (default 9; quick 3)
  --skip-throughput | --skip-accuracy | --skip-cost | --skip-coldstart`);
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
  // After priming and after Keyward's many-keys scenario: a quiet key's guard reports at
  // most once per 4.5 minutes, 5 s after its first unreported request
  // (QUIET_REPORT_PERIOD_MS and REPORT_DELAY_MS in src/usage/usage-report.ts). Thousands
  // of guards used within seconds of each other report together up to 275 s later; the
  // wait lets that deferred work finish before the next scenario instead of landing on it,
  // and a sweep of those keys waits as long after their last reports, so that its own
  // reports come 5 s after it, before the measured runs. The floor's and the peer's
  // many-keys scenarios wait at most 66 s (the peer's window alarms, 60 s).
  settleSeconds: Number(cli.settle ?? (quick ? 0 : 276)),
  coldStartSamples: Number(cli["cold-samples"] ?? (quick ? 3 : 9)),
};
const BIG_LIMIT = { limit: 1_000_000_000, windowSeconds: 60 };
/** The metered scenario's route policy: every request on /v1/metered holds 100 and is settled from Keyward-Charge. */
const METERED_POLICY = { rules: [{ method: "*", path: "/v1/metered", permission: null, reserve: 100 }] };
const PRICES = { kvRead: 0.5, doRequest: 0.15, rowWritten: 1.0 }; // USD per million, Workers Paid, beyond included usage

// Durable Object storage: tmpfs when the machine has one (local-disk fsyncs are
// not what a Durable Object costs in production, and they dominate scenario (c)
// on a slow disk), else bench/.build. --storage picks a directory.
let storageDir = null;
let storageIsTemporary = false;
function chooseStorage() {
  if (cli.storage) return path.resolve(cli.storage);
  if (existsSync("/dev/shm")) {
    try {
      storageIsTemporary = true;
      return mkdtempSync("/dev/shm/keyward-bench-");
    } catch {
      storageIsTemporary = false;
    }
  }
  return path.join(BUILD_DIR, "do-storage");
}

const children = [];
function cleanup() {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
  }
}
process.on("exit", cleanup);
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    cleanup();
    process.exit(130);
  });
}

const log = (...args) => console.error(...args);
const startedAt = Date.now();
const elapsed = () => `${((Date.now() - startedAt) / 1000).toFixed(0)}s`;

// ---------------------------------------------------------------- machine --

function sh(command) {
  try {
    return execFileSync("sh", ["-c", command], { encoding: "utf8" }).trim();
  } catch {
    return null;
  }
}

const CLK_TCK = Number(sh("getconf CLK_TCK") ?? 100);
function cpuMs(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
  } catch {
    return Number.NaN;
  }
}

const fdHard = Number(sh("ulimit -Hn")) || 1024;
const fdLimit = fdHard === Number.POSITIVE_INFINITY || Number.isNaN(fdHard) ? 1_048_576 : fdHard;
// Each live SQLite-backed Durable Object holds three files open in workerd
// (.sqlite, -wal, -shm); scenario (c) keeps one guard per key alive.
const keyCap = Math.max(100, Math.floor((fdLimit - 2000) / 3 / 1000) * 1000);
const manyCount = Math.min(plan.keys, keyCap);

const machine = {
  nproc: Number(sh("nproc")) || os.availableParallelism(),
  cpu: os.cpus()[0]?.model ?? "unknown",
  memoryGiB: Math.round(os.totalmem() / 2 ** 30),
  node: process.version,
  workerd: sh(`"${WORKERD}" --version`),
  platform: `${os.platform()} ${os.release()}`,
  openFileLimit: { soft: Number(sh("ulimit -Sn")), hard: fdLimit },
};

// ---------------------------------------------------------------- processes --

async function startOrigin() {
  const child = fork(path.join(BENCH_DIR, "lib", "origin.mjs"), [], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  children.push(child);
  const port = await new Promise((resolve, reject) => {
    child.once("message", (m) => resolve(m.port));
    child.once("exit", (code) => reject(new Error(`origin exited with ${code}`)));
  });
  return { child, port, url: `http://127.0.0.1:${port}` };
}

async function startWorkerd({ configFile, sockets, logFile, inspector = false }) {
  // Raise the soft open-file limit to the hard one for workerd (scenario (c)).
  const extra = inspector ? "--inspector-addr=127.0.0.1:0" : "";
  const command = `ulimit -n ${fdLimit} 2>/dev/null; exec "$0" serve --control-fd=3 ${extra} "$1" 2>>"$2"`;
  const child = spawn("sh", ["-c", command, WORKERD, configFile, logFile], {
    cwd: BUILD_DIR,
    // stdout carries Keyward's per-request log line: discarded, as without Logpush.
    stdio: ["ignore", "ignore", "inherit", "pipe"],
  });
  children.push(child);
  const ports = {};
  let buffer = "";
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`workerd did not start within 30 s; see ${logFile}`)), 30_000);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`workerd exited with ${code}; see ${logFile}`));
    });
    child.stdio[3].on("data", (chunk) => {
      buffer += chunk;
      let newline = buffer.indexOf("\n");
      while (newline >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        newline = buffer.indexOf("\n");
        try {
          const message = JSON.parse(line);
          if (message.event === "listen") ports[message.socket] = message.port;
          if (message.event === "listen-inspector") ports["(inspector)"] = message.port;
        } catch {}
      }
      if (sockets.every((s) => ports[s] !== undefined) && (!inspector || ports["(inspector)"] !== undefined)) {
        clearTimeout(timer);
        child.removeAllListeners("exit");
        child.once("exit", (code, signal) => {
          if (!shuttingDown) {
            log(`workerd exited unexpectedly (${code ?? signal}); see ${logFile}`);
            process.exit(1);
          }
        });
        resolve();
      }
    });
  });
  return { child, ports };
}
let shuttingDown = false;

// ---------------------------------------------------------------- helpers --

async function json(url, init) {
  const response = await fetch(url, init);
  if (!response.ok) throw new Error(`${init?.method ?? "GET"} ${url}: ${response.status} ${await response.text()}`);
  return response.json();
}

async function main() {
  let code = 0;
  try {
    await run();
  } catch (error) {
    log(error);
    code = 1;
  } finally {
    shuttingDown = true;
    cleanup();
    await Promise.all(
      children.map((child) =>
        child.exitCode !== null || child.signalCode !== null ? null : Promise.race([new Promise((r) => child.once("exit", r)), sleep(3000)]),
      ),
    );
    if (storageIsTemporary && storageDir) rmSync(storageDir, { recursive: true, force: true });
  }
  // Exit now: nothing may keep the run going (CI relies on that).
  process.exit(code);
}

async function run() {
  log(`keyward bench: ${quick ? "quick" : "full"} run on ${machine.nproc} cores, node ${machine.node}, workerd ${machine.workerd}`);
  await bundle();
  storageDir = chooseStorage();
  resetStorage(storageDir);
  const origin = await startOrigin();

  const jwk = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ format: "jwk" });
  const keywardServices = [
    { name: "keyward-hot" },
    { name: "keyward-many" },
    { name: "keyward-service", originService: true },
    // Usage counting priced in the same run (docs/usage.md): two fresh twins that
    // differ only in USAGE_COUNTING, and serve nothing but the hot key, so neither
    // carries another scenario's guards, seeding or history.
    { name: "keyward-counted" },
    { name: "keyward-nousage", vars: { USAGE_COUNTING: "off" } },
    // Metering (docs/metering.md): a route that holds 100 credits at admission and is settled
    // from the origin's Keyward-Charge (37), beside plain credits on the hot key.
    { name: "keyward-metered", vars: { BENCH_POLICY: JSON.stringify(METERED_POLICY) } },
  ];
  const variants = ["nolog", "noguard", "nolog+noguard"];
  if (cli.profile) for (const v of variants) keywardServices.push({ name: `keyward-${v.replaceAll("+", "-")}`, variant: v });
  if (cli.micro) keywardServices.push({ name: "keyward-micro" });
  const roundVariants = (cli.variants ?? "").split(",").filter((v) => v !== "");
  // Keyward's variants ("floor-…" are the floor's, served by its own services); "many-X":
  // variant X on the many-keys set; "nousage" in a variant turns usage counting off.
  const keywardVariants = roundVariants.filter((v) => !v.startsWith("floor-"));
  const variantService = (v) => `keyward-v-${v.replaceAll("+", "-")}`;
  for (const v of keywardVariants) {
    keywardServices.push({
      name: variantService(v),
      variant: v.replace(/^many-/, ""),
      vars: v.includes("nousage") ? { USAGE_COUNTING: "off" } : {},
    });
  }
  const { file, gateways } = writeConfig({ originPort: origin.port, storageDir, signingKey: { ...jwk, kid: "bench-signing-key" }, keywardServices });
  const logFile = path.join(BUILD_DIR, "workerd.log");
  writeFileSync(logFile, "");
  const workerd = await startWorkerd({ configFile: file, sockets: gateways, logFile, inspector: cli.profile || Boolean(cli["micro-profile"]) });
  const port = (service) => workerd.ports[service];
  const base = (service) => `http://127.0.0.1:${port(service)}`;
  log(`[${elapsed()}] workerd up: ${gateways.map((g) => `${g}=${port(g)}`).join(" ")}; origin=${origin.port}`);

  async function seed(keys) {
    for (let i = 0; i < keys.length; i += 500) {
      const chunk = keys.slice(i, i + 500).map((k) => [k.hash, k.record]);
      await json(`${base("keyward-hot")}/__bench/seed`, { method: "POST", body: JSON.stringify(chunk) });
    }
  }

  const hot = makeKey(BIG_LIMIT);
  // The hot key again with credits (a balance it never runs out of), and one in an org with a shared limit.
  const credited = makeKey(BIG_LIMIT);
  credited.record.credits = { remaining: 1e12, refill: null, refilledAt: Date.now() };
  const orgShared = makeKey({ ...BIG_LIMIT, org: "org_bench_shared" });
  const metered = makeKey(BIG_LIMIT);
  metered.record.credits = { remaining: 1e12, refill: null, refilledAt: Date.now() };
  const many = Array.from({ length: manyCount }, () => makeKey(BIG_LIMIT));
  await seed([hot, credited, orgShared, metered, ...many]);
  await json(`${base("keyward-hot")}/__bench/org-limit`, {
    method: "POST",
    body: JSON.stringify({ records: [orgShared.record], limit: BIG_LIMIT.limit, windowSeconds: BIG_LIMIT.windowSeconds }),
  });
  if (manyCount < plan.keys) {
    log(
      `note: scenario (c) uses ${manyCount} keys, not ${plan.keys}: the open-file limit (${fdLimit}) allows about ${keyCap} live SQLite-backed guards (3 files each)`,
    );
  }
  log(`[${elapsed()}] seeded ${1 + manyCount} keys`);

  // One sweep over all keys creates each key's guard (its SQLite file) before any measurement.
  const primeMany = !cli.scenarios || cli.scenarios.split(",").some((id) => id === "many" || id.endsWith("-keys"));
  const primed = ["keyward-many", "floor-many", ...keywardVariants.filter((v) => v.startsWith("many-")).map(variantService)];
  for (const service of primeMany ? primed : []) {
    const prime = await runLoad({ port: port(service), keys: many.map((k) => k.key), connections: 32, amount: manyCount });
    log(`[${elapsed()}] primed ${manyCount} ${service} guards: ${JSON.stringify(prime.statuses)} in ${prime.seconds}s`);
  }
  if (primeMany) log(`[${elapsed()}] settled after priming: ${(await settle(plan.settleSeconds)).toFixed(0)} ms of deferred workerd CPU`);
  /** When each Keyward service's many keys last finished reporting (the next sweep waits a quiet period after it). */
  const settledAt = new Map(primeMany ? primed.filter((s) => s.startsWith("keyward")).map((s) => [s, Date.now()]) : []);

  const manyId = `keyward-${manyCount}-keys`;
  const floorManyId = `floor-${manyCount}-keys`;
  const peerManyId = `peer-${manyCount}-keys`;
  const manyKeys = many.map((k) => k.key);
  const scenarios = [
    { id: "pass-through", label: "(a) pass-through Hono proxy, no auth", service: "pass-through", keys: [hot.key] },
    { id: "keyward-hot-key", label: "(b) Keyward, one hot key", service: "keyward-hot", keys: [hot.key], floor: "floor-hot-key" },
    {
      id: "floor-hot-key",
      label: "(b0) floor for (b): KV record behind the same isolate cache, one RPC to an empty per-key Durable Object, forward",
      service: "floor-hot",
      keys: [hot.key],
    },
    {
      id: manyId,
      label: `(c) Keyward, ${manyCount.toLocaleString("en")} distinct keys`,
      service: "keyward-many",
      keys: manyKeys,
      sweep: true,
      floor: floorManyId,
      peer: peerManyId,
    },
    { id: floorManyId, label: `(c0) floor for (c), the same ${manyCount.toLocaleString("en")} keys`, service: "floor-many", keys: manyKeys, sweep: true },
    // The gateway people build without Keyward, on the same many keys: one limiter object per key.
    { id: peerManyId, label: `(d1) peer, the same ${manyCount.toLocaleString("en")} keys`, service: "peer", keys: manyKeys, sweep: true },
    {
      id: "keyward-hot-credits",
      label: "(b2) Keyward, one hot key with credits (balance decided with the window)",
      service: "keyward-hot",
      keys: [credited.key],
    },
    {
      id: "keyward-hot-metered",
      label: "(b4) Keyward, one hot key with credits on a metered route: a hold of 100 at admission, settled from Keyward-Charge after the answer",
      service: "keyward-metered",
      keys: [metered.key],
      path: "/v1/metered",
    },
    {
      id: "keyward-hot-org-limit",
      label: "(b3) Keyward, one hot key in an org with a shared limit (one more guard call, key guard to org guard)",
      service: "keyward-hot",
      keys: [orgShared.key],
    },
    {
      id: "keyward-hot-counted",
      label: "(b1) Keyward, one hot key, on a fresh service of its own with usage counting on (the pair of b1')",
      service: "keyward-counted",
      keys: [hot.key],
    },
    {
      id: "keyward-hot-nousage",
      label: "(b1') the same fresh service with usage counting off (USAGE_COUNTING=off)",
      service: "keyward-nousage",
      keys: [hot.key],
    },
    { id: "peer", label: "(d) peer: bearerAuth + KV + hono-rate-limiter DO store", service: "peer", keys: [hot.key] },
    {
      id: "keyward-service-origin",
      label: "(e) Keyward, one hot key, the origin a Worker behind the ORIGIN service binding (no network hop; it runs on workerd's thread too)",
      service: "keyward-service",
      keys: [hot.key],
    },
  ];

  if (roundVariants.includes("floor-noguard")) {
    scenarios.push({
      id: "floor-hot-noguard",
      label: "(v) floor for (b) with no Durable Object: the verdict answered in the isolate",
      service: "floor-noguard",
      keys: [hot.key],
      variant: true,
    });
  }
  for (const v of keywardVariants) {
    const onMany = v.startsWith("many-");
    scenarios.push({
      id: onMany ? `keyward-${manyCount}-keys-${v.slice(5).replaceAll("+", "-")}` : `keyward-hot-${v.replaceAll("+", "-")}`,
      label: `(v) Keyward, ${onMany ? `${manyCount} distinct keys` : "one hot key"}, wiring variant ${v}`,
      service: variantService(v),
      keys: onMany ? manyKeys : [hot.key],
      ...(onMany ? { sweep: true } : {}),
      variant: true,
    });
  }
  const scenarioById = (id) => allScenarios.find((s) => s.id === id);
  const allScenarios = [...scenarios];
  if (cli.scenarios) {
    const wanted = new Set([
      ...cli.scenarios.split(",").flatMap((id) => (id === "many" ? [manyId, floorManyId, peerManyId] : [id])),
      ...scenarios.filter((s) => s.variant).map((s) => s.id),
    ]);
    const unknown = [...wanted].filter((id) => !scenarios.some((s) => s.id === id));
    if (unknown.length > 0) throw new Error(`--scenarios: unknown ${unknown.join(", ")}; known: ${scenarios.map((s) => s.id).join(", ")}`);
    for (let i = scenarios.length - 1; i > 0; i--) if (!wanted.has(scenarios[i].id)) scenarios.splice(i, 1);
  }

  async function sweep(scenario) {
    // workerd evicts a Durable Object after 10 s idle (production: minutes), and
    // records leave the isolate cache after 30 s: while the other scenarios ran,
    // (c) lost both. One request per key brings them back before measuring.
    const result = await runLoad({ port: port(scenario.service), keys: scenario.keys, connections: 32, amount: scenario.keys.length });
    log(`  [${elapsed()}] swept ${scenario.keys.length} keys in ${result.seconds}s ${JSON.stringify(result.statuses)}`);
  }

  /**
   * Waits until workerd is idle: the deferred work a run leaves behind (flush
   * timers, and the usage reports each guard's alarm sends about 5 s after a key's
   * first unreported request) is done before the next scenario, so that it is not
   * charged to that scenario. Returns the workerd CPU ms spent meanwhile: the
   * deferred work's cost.
   */
  async function settle(minSeconds) {
    const start = cpuMs(workerd.child.pid);
    const until = Date.now() + (minSeconds + 30) * 1000;
    await sleep(minSeconds * 1000);
    for (;;) {
      const before = cpuMs(workerd.child.pid);
      await sleep(1000);
      // Idle: at most two 10 ms clock ticks in a second.
      if (cpuMs(workerd.child.pid) - before <= 20 || Date.now() > until) break;
    }
    return cpuMs(workerd.child.pid) - start;
  }

  async function measure(scenario, connections, seconds, warmup) {
    const path = scenario.path ? { path: scenario.path } : {};
    if (warmup > 0) await runLoad({ port: port(scenario.service), keys: scenario.keys, connections, seconds: warmup, ...path });
    const cpu0 = { workerd: cpuMs(workerd.child.pid), origin: cpuMs(origin.child.pid), load: process.cpuUsage() };
    const result = await runLoad({ port: port(scenario.service), keys: scenario.keys, connections, seconds, ...path });
    const load = process.cpuUsage(cpu0.load);
    const per = (ms) => (ms * 1000) / Math.max(1, result.requests);
    result.cpuMicrosPerRequest = {
      workerd: per(cpuMs(workerd.child.pid) - cpu0.workerd),
      origin: per(cpuMs(origin.child.pid) - cpu0.origin),
      loadGenerator: per((load.user + load.system) / 1000),
    };
    if (result.non2xx > 0 || result.errors > 0) {
      log(`  warning: ${scenario.id} c=${connections}: ${result.non2xx} non-2xx, ${result.errors} errors ${JSON.stringify(result.statuses)}`);
    }
    return result;
  }

  // ----------------------------------------------------------------- micro --
  let microCosts = null;
  if (cli.micro) {
    const ops = [
      "noop",
      "uuid",
      "parse",
      "hash",
      "url",
      "caller",
      "headers",
      "timer",
      "timer-race",
      "response",
      "sign",
      "rpc-const-min",
      "rpc-const",
      "rpc-key",
      "guard-construct-20",
      "id-from-name",
      "stub-get",
      "rpc-key-cached-id",
      "rpc-key-same-stub",
      "rpc-alarm",
      "rpc-report",
      "fetch-plain",
      "fetch-signal",
      "fetch-manual",
      "fetch-client-headers",
      "fetch-headers",
      "fetch-keyward",
      "app-noguard",
      "app-constguard",
      "app-full",
    ];
    const once = async (op, n) => {
      const before = cpuMs(workerd.child.pid);
      await json(`${base("keyward-micro")}/__bench/micro?op=${op}&n=${n}&key=${hot.key}`);
      return cpuMs(workerd.child.pid) - before;
    };
    const perOp = {};
    for (const op of ops) {
      // About 0.6 s of CPU per sample: /proc's CPU clock ticks every 10 ms.
      const probe = Math.max(0.001, (await once(op, 500)) / 500);
      const n = Math.min(200_000, Math.max(1000, Math.round(600 / probe)));
      const samples = [];
      for (let i = 0; i < 3; i++) samples.push(((await once(op, n)) * 1000) / n);
      perOp[op] = median(samples);
    }
    if (cli["micro-profile"]) {
      const op = cli["micro-profile"];
      const { profile: p } = await profileWhile({ port: workerd.ports["(inspector)"], target: "keyward-micro", intervalMicros: 100 }, () => once(op, 20000));
      writeFileSync(path.join(BUILD_DIR, `micro-${op}.cpuprofile`), JSON.stringify(p));
      log(`profile written: ${path.join(BUILD_DIR, `micro-${op}.cpuprofile`)}`);
    }
    microCosts = ops.map((op) => ({ op, microsPerOp: perOp[op], overLoop: perOp[op] - perOp.noop }));
    log(`[${elapsed()}] micro (workerd CPU µs per operation, minus the empty loop's ${perOp.noop.toFixed(1)}):`);
    for (const m of microCosts.slice(1)) log(`  ${m.op.padEnd(10)} ${m.overLoop.toFixed(1)}`);
  }

  // ------------------------------------------------------------ cold start --
  let coldStart = null;
  if (!cli["skip-coldstart"]) {
    log(`[${elapsed()}] cold start: wrangler deploy --dry-run, then ${plan.coldStartSamples} fresh workerd processes per Worker`);
    const build = dryRunBuild();
    log(
      `  [${elapsed()}] deploy bundle: ${build.modules.map((m) => `${m.file} ${(m.bytes / 1024).toFixed(0)} KiB (${(m.gzipBytes / 1024).toFixed(0)} KiB gzip)`).join(", ")}`,
    );
    const coldKey = makeKey(BIG_LIMIT);
    const targets = [
      {
        id: "pass-through",
        modules: [{ name: "passthrough.js", path: path.join(BUILD_DIR, "passthrough.js") }],
        bindings: { ORIGIN_URL: { text: origin.url } },
      },
      {
        id: "keyward",
        modules: [
          ...build.modules.map((m) => ({ name: m.file, path: path.join(build.outdir, m.file) })),
          ...build.textModules.map((file) => ({ name: file, path: path.join(build.outdir, file), text: true })),
        ],
        bindings: {
          KEYS: { kv: "kv" },
          KEY_GUARD: { durableObject: "KeyGuard" },
          ORG_LEDGER: { durableObject: "OrgLedger" },
          KEYWARD_ENV: { text: "development" },
          ORIGIN_URL: { text: origin.url },
          KEYWARD_SIGNING_KEY: { text: JSON.stringify({ ...jwk, kid: "bench-signing-key" }) },
        },
        durableObjects: ["KeyGuard", "OrgLedger"],
      },
    ];
    const samples = await coldStarts({ targets, samples: plan.coldStartSamples, originPort: origin.port, key: coldKey, storageRoot: storageDir, log });
    const med = (list, field) => median(list.map((x) => x[field]));
    coldStart = {
      bundle: { modules: build.modules.map(({ file, bytes, gzipBytes }) => ({ file, bytes, gzipBytes })) },
      samples,
      summary: Object.fromEntries(
        Object.entries(samples).map(([id, list]) => [
          id,
          {
            listenMs: med(list, "listenMs"),
            listenCpuMs: med(list, "listenCpuMs"),
            firstMs: med(list, "firstMs"),
            firstCpuMs: med(list, "firstCpuMs"),
            secondMs: med(list, "secondMs"),
            statuses: list.map((x) => x.firstStatus),
          },
        ]),
      ),
    };
  }

  // ------------------------------------------------------------ throughput --
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
        if (reporting && settledAt.has(scenario.service)) await sleep(Math.max(0, settledAt.get(scenario.service) + plan.settleSeconds * 1000 - Date.now()));
        const swept = scenario.sweep ? (await sweep(scenario), await settle(Math.min(plan.settleSeconds, 6))) : 0;
        let requests = scenario.sweep ? scenario.keys.length : 0;
        for (const connections of plan.connections) {
          const result = await measure(scenario, connections, plan.seconds, plan.warmup);
          runs.push({ round, connections, scenario: scenario.id, ...result });
          requests += result.requests;
          log(
            `  [${elapsed()}] r${round} c=${connections} ${scenario.id.padEnd(18)} ${result.rps.toFixed(0).padStart(6)} req/s  p50 ${result.p50.toFixed(2)} ms  p99 ${result.p99.toFixed(2)} ms  workerd ${result.cpuMicrosPerRequest.workerd.toFixed(0)} us/req`,
          );
        }
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
  throughput.deferred = [...new Set(deferred.map((d) => d.scenario))].map((scenario) => {
    const list = deferred.filter((d) => d.scenario === scenario);
    return { scenario, microsPerRequest: median(list.map((d) => d.microsPerRequest)), rounds: list };
  });

  // -------------------------------------------------------------- profile --
  let profile = null;
  if (cli.profile) {
    const c = plan.connections.includes(32) ? 32 : plan.connections[0];
    const profiled = [
      ...["pass-through", "keyward-hot-key", "floor-hot-key"].map((id) => scenarioById(id)),
      { id: "floor-hot-key-keyward-payload", service: "floor-payload", keys: [hot.key] },
      ...variants.map((v) => ({ id: `keyward-hot-${v}`, service: `keyward-${v.replaceAll("+", "-")}`, keys: [hot.key] })),
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
    profile = { connections: c, ...summarizeThroughput(profileRuns, profiled, [c]), runs: profileRuns, cpu: [] };

    // Sampling CPU profiles of each gateway's isolate (its Durable Objects run in
    // the same isolate), by source module of the bundle.
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
      const cpu0 = cpuMs(workerd.child.pid);
      const { result, profile: cpuProfile } = await profileWhile({ port: workerd.ports["(inspector)"], target: scenario.service }, () =>
        runLoad({
          port: port(scenario.service),
          keys: scenario.keys,
          connections: c,
          seconds: plan.seconds,
          ...(scenario.path ? { path: scenario.path } : {}),
        }),
      );
      const workerdMs = cpuMs(workerd.child.pid) - cpu0;
      // The raw profile too, for Chrome DevTools or a closer look (bench/.build is not committed).
      writeFileSync(path.join(BUILD_DIR, `profile-${scenario.id}.cpuprofile`), JSON.stringify(cpuProfile));
      const { buckets, topFunctions } = summarize(cpuProfile, { bundleUrl: `${module}.js`, moduleOf });
      const per = (ms) => (ms * 1000) / Math.max(1, result.requests);
      const entry = {
        scenario: scenario.id,
        requests: result.requests,
        rps: result.rps,
        workerdMicrosPerRequest: per(workerdMs),
        microsPerRequest: Object.fromEntries(Object.entries(buckets).map(([k, v]) => [k, per(v)])),
        topFunctionsMicrosPerRequest: Object.fromEntries(Object.entries(topFunctions).map(([k, v]) => [k, per(v)])),
      };
      profile.cpu.push(entry);
      const top = Object.entries(entry.microsPerRequest)
        .filter(([k]) => k !== "(idle)")
        .slice(0, 6)
        .map(([k, v]) => `${k} ${v.toFixed(0)}`)
        .join(", ");
      log(`  [${elapsed()}] cpu profile ${scenario.id}: ${result.rps.toFixed(0)} req/s, workerd ${entry.workerdMicrosPerRequest.toFixed(0)} us/req; ${top}`);
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
  }

  // ------------------------------------------------------------- accuracy --
  const accuracy = [];
  if (!cli["skip-accuracy"]) {
    const a = plan.accuracy;
    const windowMs = a.windowSeconds * 1000;
    log(`[${elapsed()}] accuracy: limit ${a.limit} per ${a.windowSeconds}s, ${a.connections} connections`);
    for (const target of [
      { id: "keyward", service: "keyward-hot" },
      { id: "peer", service: "peer" },
    ]) {
      const patterns = [];
      if (a.steadySeconds > 0) patterns.push("steady");
      if (a.burstCycles > 0) patterns.push("burst");
      for (const pattern of patterns) {
        const key = makeKey({ limit: a.limit, windowSeconds: a.windowSeconds });
        await seed([key]);
        const tag = `${target.id}-${pattern}-${Date.now()}`;
        const headers = { "x-bench-tag": tag };
        const statuses = {};
        const count = (result) => {
          for (const [s, n] of Object.entries(result.statuses)) statuses[s] = (statuses[s] ?? 0) + n;
        };
        const t0 = Date.now();
        if (pattern === "steady") {
          count(await runLoad({ port: port(target.service), keys: [key.key], connections: a.connections, seconds: a.steadySeconds, headers }));
        } else {
          // A client that sends one request, idles, then bursts across the point
          // where a fixed window opened by that request would reset.
          for (let cycle = 0; cycle < a.burstCycles; cycle++) {
            const probe = await fetch(`${base(target.service)}/v1/things`, { headers: { ...headers, authorization: `Bearer ${key.key}` } });
            statuses[probe.status] = (statuses[probe.status] ?? 0) + 1;
            await probe.arrayBuffer();
            await sleep(0.5 * windowMs);
            count(await runLoad({ port: port(target.service), keys: [key.key], connections: a.connections, seconds: (0.9 * windowMs) / 1000, headers }));
            await sleep(1.2 * windowMs);
          }
        }
        const seconds = (Date.now() - t0) / 1000;
        const times = await json(`${origin.url}/__origin/tag?name=${encodeURIComponent(tag)}`);
        if (process.env.BENCH_DEBUG) log(JSON.stringify({ t0, times: times.map((t) => Math.round(t - t0)) }));
        const result = {
          limiter: target.id,
          pattern,
          seconds,
          statuses,
          ...admissions(times, { limit: a.limit, windowMs, toleranceMs: a.toleranceMs }),
        };
        accuracy.push(result);
        log(
          `  [${elapsed()}] ${target.id.padEnd(7)} ${pattern.padEnd(6)} admitted ${result.admitted} in ${seconds.toFixed(1)}s; max in any ${a.windowSeconds}s window ${result.maxInAnyWindow} (limit ${a.limit}, over-admission ${result.overAdmissionPercent.toFixed(0)}%); per window ${result.windows.join(",")}; statuses ${JSON.stringify(statuses)}`,
        );
      }
    }
  }

  // ----------------------------------------------------------------- cost --
  const cost = [];
  let costRegimes = null;
  if (!cli["skip-cost"]) {
    const N = plan.costRequests;
    log(`[${elapsed()}] cost: ${N} requests per kind`);
    const serviceOf = (gateway) => (gateway === "peer" ? "peer" : gateway === "keyward-nousage" ? "keyward-nousage" : "keyward-hot");
    const counters = (gateway) => json(`${base(serviceOf(gateway))}/__bench/counters`);
    const guardRows = async (records, gateway = "keyward") =>
      (await json(`${base(serviceOf(gateway))}/__bench/guards`, { method: "POST", body: JSON.stringify(records) })).reduce((n, s) => n + s.rowsWritten, 0);
    const limiterStats = async (ids) => {
      const stats = await json(`${base("peer")}/__bench/limiters`, { method: "POST", body: JSON.stringify(ids) });
      return stats.reduce((acc, s) => ({ put: acc.put + s.put, setAlarm: acc.setAlarm + s.setAlarm, alarms: acc.alarms + s.alarms }), {
        put: 0,
        setAlarm: 0,
        alarms: 0,
      });
    };
    const unknownKeys = Array.from({ length: N }, () => generateKey().key);
    const malformed = Array.from({ length: N }, () => malformedKey());
    const settle = () => sleep(quick ? 350 : 600); // > FLUSH_DELAY_MS (250 ms): pending admissions are written

    async function measureKind({ gateway, kind, keys, records = [], limiterIds = [], sequentialGapMs = 0, rate, expect }) {
      const before = await counters(gateway);
      const rows0 =
        gateway === "peer" ? await limiterStats(limiterIds) : { put: records.length ? await guardRows(records, gateway) : 0, setAlarm: 0, alarms: 0 };
      let statuses = {};
      let n = 0;
      if (sequentialGapMs > 0) {
        for (const key of keys) {
          const r = await fetch(`${base(serviceOf(gateway))}/v1/things`, { headers: { authorization: `Bearer ${key}` } });
          await r.arrayBuffer();
          statuses[r.status] = (statuses[r.status] ?? 0) + 1;
          n++;
          await sleep(sequentialGapMs);
        }
      } else {
        const result = await runLoad({ port: port(serviceOf(gateway)), keys, connections: 10, amount: keys.length, rate });
        statuses = result.statuses;
        n = result.requests;
      }
      await settle();
      const after = await counters(gateway);
      const rows1 =
        gateway === "peer" ? await limiterStats(limiterIds) : { put: records.length ? await guardRows(records, gateway) : 0, setAlarm: 0, alarms: 0 };
      const calls = (o) => Object.values(o).reduce((a, b) => a + b, 0);
      const doCalls = gateway === "peer" ? calls(after.limiter) - calls(before.limiter) : calls(after.guard) - calls(before.guard);
      const kvReads = after.kv.get - before.kv.get;
      const rowsWritten = rows1.put - rows0.put + (rows1.setAlarm - rows0.setAlarm);
      const alarms = rows1.alarms - rows0.alarms;
      const perRequest = {
        kvReads: kvReads / n,
        doRequests: (doCalls + alarms) / n,
        rowsWritten: rowsWritten / n,
        originRequests: (after.origin - before.origin) / n,
      };
      const dollarsPerMillion = perRequest.kvReads * PRICES.kvRead + perRequest.doRequests * PRICES.doRequest + perRequest.rowsWritten * PRICES.rowWritten;
      const row = { gateway, kind, requests: n, statuses, expect, kvReads, doCalls, alarms, rowsWritten, perRequest, dollarsPerMillion };
      cost.push(row);
      const unexpected = Object.keys(statuses).filter((s) => Number(s) !== expect);
      log(
        `  [${elapsed()}] ${gateway.padEnd(7)} ${kind.padEnd(17)} n=${n} kv=${perRequest.kvReads.toFixed(3)} do=${perRequest.doRequests.toFixed(3)} rows=${perRequest.rowsWritten.toFixed(3)} $${dollarsPerMillion.toFixed(3)}/M${unexpected.length ? `  unexpected statuses ${JSON.stringify(statuses)}` : ""}`,
      );
      return row;
    }

    // Keyward
    const admitted = makeKey(BIG_LIMIT);
    const sparse = makeKey(BIG_LIMIT);
    const refused = makeKey({ limit: 1, windowSeconds: 3600 });
    const peerAdmitted = makeKey(BIG_LIMIT);
    const peerSparse = makeKey(BIG_LIMIT);
    const peerRefused = makeKey({ limit: 1, windowSeconds: 3600 });
    await seed([admitted, sparse, refused, peerAdmitted, peerSparse, peerRefused]);
    // Use up the refused keys' single admission before counting.
    for (const [service, key] of [
      ["keyward-hot", refused],
      ["peer", peerRefused],
    ]) {
      const r = await fetch(`${base(service)}/v1/things`, { headers: { authorization: `Bearer ${key.key}` } });
      await r.arrayBuffer();
    }
    await settle();

    await measureKind({ gateway: "keyward", kind: "admitted", keys: Array(N).fill(admitted.key), records: [admitted.record], expect: 200 });
    // The same, with usage counting off: rows per admitted request must not differ.
    const uncounted = makeKey(BIG_LIMIT);
    await seed([uncounted]);
    await measureKind({ gateway: "keyward-nousage", kind: "admitted", keys: Array(N).fill(uncounted.key), records: [uncounted.record], expect: 200 });
    if (plan.sparseRequests > 0) {
      await measureKind({
        gateway: "keyward",
        kind: "admitted (sparse)",
        keys: Array(plan.sparseRequests).fill(sparse.key),
        records: [sparse.record],
        sequentialGapMs: 300,
        expect: 200,
      });
    }
    await measureKind({ gateway: "keyward", kind: "refused (429)", keys: Array(N).fill(refused.key), records: [refused.record], expect: 429 });
    await measureKind({ gateway: "keyward", kind: "unknown key", keys: unknownKeys, expect: 401 });
    await measureKind({ gateway: "keyward", kind: "malformed key", keys: malformed, expect: 401 });

    await measureKind({ gateway: "peer", kind: "admitted", keys: Array(N).fill(peerAdmitted.key), limiterIds: [peerAdmitted.record.id], expect: 200 });
    if (plan.sparseRequests > 0) {
      await measureKind({
        gateway: "peer",
        kind: "admitted (sparse)",
        keys: Array(plan.sparseRequests).fill(peerSparse.key),
        limiterIds: [peerSparse.record.id],
        sequentialGapMs: 300,
        expect: 200,
      });
    }
    await measureKind({ gateway: "peer", kind: "refused (429)", keys: Array(N).fill(peerRefused.key), limiterIds: [peerRefused.record.id], expect: 429 });
    await measureKind({ gateway: "peer", kind: "unknown key", keys: unknownKeys, expect: 401 });
    await measureKind({ gateway: "peer", kind: "malformed key", keys: malformed, expect: 401 });
    costRegimes = await measureRegimes({ N, measureKind, seed });
  }

  /**
   * The four traffic regimes (bench/lib/cost-regimes.mjs): a paced busy run on a
   * fresh key of each gateway, the peer with one window per request, and one
   * usage report priced end to end; the slow regimes are computed from these and
   * the sparse kinds above.
   */
  async function measureRegimes({ N, measureKind, seed }) {
    const [kBusy, pBusy, pWindow, kSparse] = [makeKey(BIG_LIMIT), makeKey(BIG_LIMIT), makeKey({ ...BIG_LIMIT, windowSeconds: 1 }), makeKey(BIG_LIMIT)];
    await seed([kBusy, pBusy, pWindow, kSparse]);
    const paced = `admitted (${BUSY_RATE}/s)`;
    const per = (row) => row.perRequest;
    const keywardBusy = per(
      await measureKind({ gateway: "keyward", kind: paced, keys: Array(N).fill(kBusy.key), records: [kBusy.record], rate: BUSY_RATE, expect: 200 }),
    );
    const keywardSparse = cost.find((c) => c.gateway === "keyward" && c.kind === "admitted (sparse)")?.perRequest;
    const peerBusy = per(
      await measureKind({ gateway: "peer", kind: paced, keys: Array(N).fill(pBusy.key), limiterIds: [pBusy.record.id], rate: BUSY_RATE, expect: 200 }),
    );
    // A 1 s window and 1.2 s between requests: every request opens a window, whose alarm fires before the next.
    const peerWindow = per(
      await measureKind({
        gateway: "peer",
        kind: "admitted (window per request)",
        keys: Array(Math.max(2, plan.sparseRequests)).fill(pWindow.key),
        limiterIds: [pWindow.record.id],
        sequentialGapMs: 1200,
        expect: 200,
      }),
    );
    const priced = await json(`${base("keyward-hot")}/__bench/report-cost`, { method: "POST", body: JSON.stringify(kSparse.record) });
    const wall = await json(`${base("peer")}/__bench/limiter-wall`, { method: "POST" });
    const regimes = priceRegimes({
      keyward: { busy: keywardBusy, sparse: keywardSparse, ...priced },
      peer: { busy: peerBusy, window: peerWindow, wall },
    });
    for (const line of regimeLines(regimes)) log(`  ${line}`);
    return regimes;
  }

  // Rows per admitted request, plain credits against metered (holds written with their balance),
  // from each guard's own count, once the settlements (waitUntil) have landed.
  const metering = {};
  for (const [id, service, record] of [
    ["keyward-hot-credits", "keyward-hot", credited.record],
    ["keyward-hot-metered", "keyward-metered", metered.record],
  ]) {
    if (!allScenarios.some((s) => s.id === id) || !scenarios.some((s) => s.id === id)) continue;
    const [status] = await json(`${base(service)}/__bench/guards`, { method: "POST", body: JSON.stringify([record]) });
    metering[id] = {
      admitted: status.admitted,
      rowsWritten: status.rowsWritten,
      rowsPerAdmitted: status.rowsWritten / Math.max(1, status.admitted),
      holdsOpen: status.holdsOpen ?? 0,
    };
    log(
      `rows per admitted request, ${id}: ${metering[id].rowsPerAdmitted.toFixed(3)} (${status.rowsWritten} rows, ${status.admitted} admitted, ${metering[id].holdsOpen} holds open)`,
    );
  }

  // --------------------------------------------------------------- report --
  shuttingDown = true;
  cleanup();

  const report = {
    generatedAt: new Date().toISOString(),
    mode: quick ? "quick" : "full",
    durationSeconds: Math.round((Date.now() - startedAt) / 1000),
    machine,
    plan: { ...plan, keys: manyCount, requestedKeys: plan.keys, keyCap },
    prices: PRICES,
    scenarios: scenarios.map(({ id, label }) => ({ id, label })),
    throughput,
    profile,
    micro: microCosts,
    accuracy,
    cost,
    costRegimes,
    metering,
    coldStart,
    runs,
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
  // Against the design's own floor, under fixed names (the many-keys count is in the tables).
  const pairs = [
    ["hot-key", "keyward-hot-key"],
    ["many-keys", manyId],
  ];
  for (const [name, id] of pairs) {
    const overall = throughput.overall[id];
    console.log(`ratio keyward-${name}/floor-${name}: ${overall?.floorRatio ? overall.floorRatio.median.toFixed(2) : "n/a"}`);
  }
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
  if (profile?.floorSplit) {
    for (const line of floorSplitLines(profile.floorSplit)) console.log(line);
  }
}

const fmtSigned = (x) => `${x >= 0 ? "+" : ""}${x.toFixed(0)}`;

/** Where the CPU a Keyward scenario adds over its floor goes: profile buckets, Keyward's minus the floor's, per request. */
function floorSplit(keyward, floor) {
  if (!keyward || !floor) return null;
  const names = new Set([...Object.keys(keyward.microsPerRequest), ...Object.keys(floor.microsPerRequest)]);
  const rows = [...names]
    .map((bucket) => {
      const k = keyward.microsPerRequest[bucket] ?? 0;
      const f = floor.microsPerRequest[bucket] ?? 0;
      return { bucket, keyward: k, floor: f, delta: k - f };
    })
    .filter((r) => Math.abs(r.delta) >= 2 || r.keyward >= 5 || r.floor >= 5)
    .sort((a, b) => b.delta - a.delta);
  return {
    scenario: keyward.scenario,
    floor: floor.scenario,
    workerd: { keyward: keyward.workerdMicrosPerRequest, floor: floor.workerdMicrosPerRequest },
    rows,
  };
}

function floorSplitLines(splits) {
  return splits.map(
    (s) =>
      `split of ${s.scenario} over ${s.floor} (profile, µs/request): workerd ${fmtSigned(s.workerd.keyward - s.workerd.floor)}; ${s.rows
        .filter((r) => Math.abs(r.delta) >= 3)
        .map((r) => `${r.bucket} ${fmtSigned(r.delta)}`)
        .join(", ")}`,
  );
}

/**
 * Per scenario and concurrency: medians and spread over rounds, each as a ratio
 * to pass-through of the same round; for a scenario with a floor, also its ratio
 * to the floor and the workerd CPU it adds over the floor, in the same round.
 */
function summarizeThroughput(runs, scenarios, connectionsList) {
  const byKey = new Map(runs.map((r) => [`${r.round}|${r.connections}|${r.scenario}`, r]));
  const table = [];
  const overall = {};
  for (const s of scenarios) {
    const allRatios = [];
    const all = { floorRatio: [], cpuOverFloor: [], cpu: [], floorCpu: [], peerRatio: [] };
    for (const connections of connectionsList) {
      const mine = runs.filter((r) => r.scenario === s.id && r.connections === connections);
      if (mine.length === 0) continue;
      const ratio = (field, to = "pass-through") =>
        mine.map((r) => {
          const base = byKey.get(`${r.round}|${r.connections}|${to}`);
          return base ? r[field] / base[field] : Number.NaN;
        });
      const rpsRatios = ratio("rps");
      allRatios.push(...rpsRatios);
      let floor = null;
      if (s.floor) {
        const floorRuns = mine.map((r) => byKey.get(`${r.round}|${r.connections}|${s.floor}`));
        const floorRatios = ratio("rps", s.floor);
        const over = mine.map((r, i) => (floorRuns[i] ? r.cpuMicrosPerRequest.workerd - floorRuns[i].cpuMicrosPerRequest.workerd : Number.NaN));
        all.floorRatio.push(...floorRatios);
        all.cpuOverFloor.push(...over);
        all.cpu.push(...mine.map((r) => r.cpuMicrosPerRequest.workerd));
        all.floorCpu.push(...floorRuns.filter(Boolean).map((r) => r.cpuMicrosPerRequest.workerd));
        floor = { id: s.floor, rpsRatio: summary(floorRatios), cpuOverFloor: summary(over) };
      }
      // Against the peer on the same keys, same round and concurrency.
      if (s.peer) all.peerRatio.push(...ratio("rps", s.peer));
      table.push({
        floor,
        scenario: s.id,
        connections,
        rounds: mine.length,
        rps: summary(mine.map((r) => r.rps)),
        rpsRatio: summary(rpsRatios),
        p50: summary(mine.map((r) => r.p50)),
        p50Ratio: summary(ratio("p50")),
        p99: summary(mine.map((r) => r.p99)),
        p99Ratio: summary(ratio("p99")),
        workerdMicrosPerRequest: median(mine.map((r) => r.cpuMicrosPerRequest.workerd)),
        originMicrosPerRequest: median(mine.map((r) => r.cpuMicrosPerRequest.origin)),
        loadMicrosPerRequest: median(mine.map((r) => r.cpuMicrosPerRequest.loadGenerator)),
        non2xx: mine.reduce((n, r) => n + r.non2xx, 0),
        errors: mine.reduce((n, r) => n + r.errors, 0),
      });
    }
    if (allRatios.length > 0) {
      overall[s.id] = { rpsRatio: summary(allRatios) };
      if (s.floor && all.floorRatio.length > 0) {
        Object.assign(overall[s.id], {
          floor: s.floor,
          floorRatio: summary(all.floorRatio),
          cpuOverFloor: summary(all.cpuOverFloor),
          cpu: summary(all.cpu),
          floorCpu: summary(all.floorCpu),
        });
      }
      if (s.peer && all.peerRatio.length > 0) overall[s.id].peerRatio = summary(all.peerRatio);
    }
  }
  return { table, overall };
}

await main();
