// @ts-check
// V8 CPU profiles of one workerd isolate, through workerd's inspector
// (`--inspector-addr`), summarised by source module of the bundle.
import { readFileSync } from "node:fs";

/** Starts the sampling profiler on `target` (a service name), runs `work`, returns its result and the profile. */
export async function profileWhile({ port, target, intervalMicros = 250 }, work) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/${target}`);
  await new Promise((resolve, reject) => {
    ws.addEventListener("open", resolve, { once: true });
    ws.addEventListener("error", () => reject(new Error(`inspector: cannot connect to ${target}`)), { once: true });
  });
  let nextId = 1;
  const pending = new Map();
  ws.addEventListener("message", (event) => {
    const message = JSON.parse(String(event.data));
    const waiter = pending.get(message.id);
    if (!waiter) return;
    pending.delete(message.id);
    if (message.error) waiter.reject(new Error(`inspector: ${message.error.message}`));
    else waiter.resolve(message.result);
  });
  const send = (method, params = {}) =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      ws.send(JSON.stringify({ id, method, params }));
    });
  try {
    await send("Profiler.enable");
    await send("Profiler.setSamplingInterval", { interval: intervalMicros });
    await send("Profiler.start");
    const result = await work();
    const { profile } = await send("Profiler.stop");
    return { result, profile };
  } finally {
    ws.close();
  }
}

/**
 * Line ranges of each source module in an esbuild bundle (esbuild writes a
 * `// path/to/module.ts` comment where each module starts).
 */
export function moduleMap(bundleFile) {
  const lines = readFileSync(bundleFile, "utf8").split("\n");
  const starts = [];
  lines.forEach((line, i) => {
    const m = /^\/\/ ((?:src|bench|test-support|node_modules)\/\S+)$/.exec(line);
    if (m) starts.push({ line: i, module: m[1] });
  });
  return (lineNumber) => {
    let found = "(bundle glue)";
    for (const s of starts) {
      if (s.line > lineNumber) break;
      found = s.module;
    }
    return found;
  };
}

/** Groups a module path into what it is for the reader. */
export function bucketOf(module) {
  if (module.startsWith("node_modules/")) {
    const parts = module.split("/");
    const pkg = parts[1].startsWith("@") ? `${parts[1]}/${parts[2]}` : parts[1];
    return pkg === "jose" ? "jose (ES256 context token)" : pkg;
  }
  if (module.startsWith("src/guard/key-guard") || module.startsWith("src/guard/sliding-window")) return "KeyGuard Durable Object (src/guard)";
  if (module.startsWith("src/")) return `Keyward gateway (${module.replace(/^src\//, "").replace(/\.ts$/, "")})`;
  // A native call (RPC, KV, fetch) is often charged to the JS frame that makes
  // it: the counting wrappers' time is mostly the RPC or KV call they pass on.
  if (module.startsWith("test-support/counting")) return "binding calls via counting wrappers (mostly the native call)";
  if (module.startsWith("bench/workers/peer")) return "peer app (bench/workers/peer.ts)";
  if (module.startsWith("bench/workers/floor")) return "floor app (bench/workers/floor.ts)";
  if (module.startsWith("bench/")) return "bench entry";
  return module;
}

/**
 * The stages of a request, for the many-keys split: each sample goes to the first
 * stage (in this order) that any frame of its stack belongs to, so a native call
 * (SQLite, `sign`) counts with the JavaScript that made it.
 */
/** @type {[string, (frame: { fn: string, module: string }) => boolean][]} */
const STAGES = [
  // The guard's wake: its constructor (schema check, reading its tables, the alarm).
  ["guard wake (constructor, schema check, loading state)", (f) => /^(GuardRoom|_?KeyGuard\d*)$/.test(f.fn) && f.module.startsWith("src/guard/")],
  // The sparse admission's write: GuardRoom.flush and what it calls (the row, its commit).
  ["admission write (flush, its row and commit)", (f) => f.fn === "flush" && f.module === "src/guard/guard-room.ts"],
  [
    "usage-report bookkeeping (counting, the report, its alarm)",
    (f) => f.module.startsWith("src/usage/") || f.module === "src/guard/usage-reporter.ts" || f.module === "src/guard/alarm-schedule.ts",
  ],
  // The gateway's guard RPC, in the counting wrapper's frame (both gateways have it): the native call's
  // own time, which includes a wake's native work when the object was evicted (instantiating it, opening its SQLite database).
  ["guard RPC call (native; with a wake's instantiation of the object)", (f) => f.module === "test-support/counting.ts"],
  ["context token (ES256 signature)", (f) => f.module.startsWith("node_modules/jose/") || f.module === "src/identity/context-token.ts"],
  ["guard check (the rest: decide, window, dedupe)", (f) => f.module.startsWith("src/guard/") && f.module !== "src/guard/guard-client.ts"],
];

/** Self time (ms) per stage of `STAGES`, then the rest: gateway JavaScript, and native frames by name. */
function stagesOf(profile, { bundleUrl, moduleOf }, self) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const frameOf = (node) => {
    const { callFrame } = node;
    const module = callFrame.url?.endsWith(bundleUrl) ? moduleOf(callFrame.lineNumber) : "";
    return { fn: callFrame.functionName, module, url: callFrame.url };
  };
  const stages = {};
  for (const [id, ms] of self) {
    const frames = [];
    for (let at = id; at !== undefined; at = parent.get(at)) frames.push(frameOf(byId.get(at)));
    const found = STAGES.find(([, inStage]) => frames.some(inStage));
    const leaf = frames[0];
    const stage = found
      ? found[0]
      : leaf.fn.startsWith("(")
        ? leaf.fn
        : frames.some((f) => f.module)
          ? "gateway and bindings (the rest of the JavaScript)"
          : "native, outside any JavaScript stage";
    stages[stage] = (stages[stage] ?? 0) + ms;
  }
  return stages;
}

/** Self time (ms) per bucket; native frames (no URL) by their own name. Also per stage of the request (STAGES). */
export function summarize(profile, { bundleUrl, moduleOf }) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = (profile.timeDeltas[i + 1] ?? profile.timeDeltas[i] ?? 0) / 1000;
    self.set(profile.samples[i], (self.get(profile.samples[i]) ?? 0) + dt);
  }
  const buckets = {};
  const functions = {};
  for (const [id, ms] of self) {
    const { callFrame } = byId.get(id);
    let bucket;
    if (callFrame.url?.endsWith(bundleUrl)) {
      bucket = bucketOf(moduleOf(callFrame.lineNumber));
    } else if (callFrame.url) {
      bucket = `other script (${callFrame.url})`;
    } else {
      bucket = callFrame.functionName.startsWith("(") ? callFrame.functionName : `native: ${callFrame.functionName || "(anonymous)"}`;
    }
    buckets[bucket] = (buckets[bucket] ?? 0) + ms;
    const fn = `${callFrame.functionName || "(anonymous)"} ${bucket}`;
    functions[fn] = (functions[fn] ?? 0) + ms;
  }
  const sorted = (o) => Object.fromEntries(Object.entries(o).sort((a, b) => b[1] - a[1]));
  return {
    buckets: sorted(buckets),
    stages: sorted(stagesOf(profile, { bundleUrl, moduleOf }, self)),
    topFunctions: Object.fromEntries(Object.entries(sorted(functions)).slice(0, 25)),
  };
}
