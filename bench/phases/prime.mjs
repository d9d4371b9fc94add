// @ts-check
// Priming: one sweep over the many keys on every service that serves them, so
// that each key's guard (its SQLite file) exists before any measurement, then a
// wait for the usage reports that sweep leaves due.
import { runLoad } from "../lib/load.mjs";
import { elapsed, log } from "../lib/log.mjs";

/**
 * Runs the priming phase when a many-keys scenario is to run. Returns, for each
 * Keyward service it primed, when its many keys last finished reporting: the
 * throughput phase's next sweep of them waits a quiet period after it.
 * @param {import("./setup.mjs").Bench} bench
 * @returns {Promise<Map<string, number>>}
 */
export async function prime({ cli, plan, port, keys, manyCount, variants, settle }) {
  const primeMany = !cli.scenarios || cli.scenarios.split(",").some((id) => id === "many" || id.endsWith("-keys"));
  const primed = ["keyward-many", "floor-many", ...variants.keyward.filter((v) => v.startsWith("many-")).map(variants.service)];
  for (const service of primeMany ? primed : []) {
    const result = await runLoad({ port: port(service), keys: keys.many.map((k) => k.key), connections: 32, amount: manyCount });
    log(`[${elapsed()}] primed ${manyCount} ${service} guards: ${JSON.stringify(result.statuses)} in ${result.seconds}s`);
  }
  // Priming leaves each key's first report (5 s after its first request: no period before a
  // first report) and the guards' eviction 10 s after that; no more. The quiet period that
  // must pass before the next sweep of these keys is waited by the throughput phase.
  if (primeMany) log(`[${elapsed()}] settled after priming: ${(await settle(Math.min(plan.settleSeconds, 15))).toFixed(0)} ms of deferred workerd CPU`);
  return new Map(primeMany ? primed.filter((s) => s.startsWith("keyward")).map((s) => [s, Date.now()]) : []);
}
