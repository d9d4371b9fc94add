// @ts-check
// Accuracy: how many requests each limiter lets through a small limit, steady
// and in bursts across a fixed window's reset, counted by arrival at the origin.
import { setTimeout as sleep } from "node:timers/promises";
import { makeKey } from "../lib/keys.mjs";
import { runLoad } from "../lib/load.mjs";
import { elapsed, log } from "../lib/log.mjs";
import { json } from "../lib/measure.mjs";
import { admissions } from "../lib/stats.mjs";

const TARGETS = [
  { id: "keyward", service: "keyward-hot" },
  { id: "peer", service: "peer" },
];

/**
 * Runs the accuracy phase; returns one result per limiter and pattern.
 * @param {import("./setup.mjs").Bench} bench
 */
export async function runAccuracy({ plan, origin, port, base, seed }) {
  const accuracy = [];
  const a = plan.accuracy;
  const windowMs = a.windowSeconds * 1000;
  log(`[${elapsed()}] accuracy: limit ${a.limit} per ${a.windowSeconds}s, ${a.connections} connections`);
  for (const target of TARGETS) {
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
  return accuracy;
}
