// @ts-check
// Micro (--micro): the request path's pieces one at a time, in workerd CPU per
// operation, each run in a loop inside the keyward-micro service (bench/workers/micro.ts).
import { writeFileSync } from "node:fs";
import path from "node:path";
import { profileWhile } from "../lib/cpuprofile.mjs";
import { elapsed, log } from "../lib/log.mjs";
import { json } from "../lib/measure.mjs";
import { median } from "../lib/stats.mjs";
import { BUILD_DIR } from "../lib/workerd.mjs";

const OPS = [
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
  "app-credits",
  "app-metered",
];

/**
 * Runs the micro phase; returns each operation's CPU, and over the empty loop's.
 * @param {import("./setup.mjs").Bench} bench
 */
export async function runMicro({ cli, base, workerd, workerdCpu, keys }) {
  // The app ops of a key with credits take the credits and metered scenarios' keys.
  const keyOf = (op) => (op === "app-metered" ? keys.metered.key : op === "app-credits" ? keys.credited.key : keys.hot.key);
  const once = async (op, n) => {
    const before = workerdCpu();
    await json(`${base("keyward-micro")}/__bench/micro?op=${op}&n=${n}&key=${keyOf(op)}`);
    return workerdCpu() - before;
  };
  // --micro-ops A,B: only these (and the empty loop, which every figure subtracts).
  const only = cli["micro-ops"] ? ["noop", ...String(cli["micro-ops"]).split(",")] : null;
  const ops = only === null ? OPS : OPS.filter((op) => only.includes(op));
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
  const microCosts = ops.map((op) => ({ op, microsPerOp: perOp[op], overLoop: perOp[op] - perOp.noop }));
  log(`[${elapsed()}] micro (workerd CPU µs per operation, minus the empty loop's ${perOp.noop.toFixed(1)}):`);
  for (const m of microCosts.slice(1)) log(`  ${m.op.padEnd(10)} ${m.overLoop.toFixed(1)}`);
  return microCosts;
}
