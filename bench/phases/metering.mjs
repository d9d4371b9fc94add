// @ts-check
// Metering: plain credits against a metered route on the hot key. Rows written
// per admitted request (holds are written with their balance) from each guard's
// own count, and guard RPCs per admitted request from the gateway's counts, both
// read before and after each round's runs of the scenario in the throughput
// phase. Not at the end of the bench: workerd evicts a guard idle for 10 s, and
// its in-memory counts start again from zero (that read printed 0 rows, 0 admitted).
import { setTimeout as sleep } from "node:timers/promises";
import { log } from "../lib/log.mjs";
import { json } from "../lib/measure.mjs";
import { summary } from "../lib/stats.mjs";

/** @typedef {{ rows: number, admitted: number, holdsOpen: number, rpcs: Record<string, number> }} Counts */

/**
 * Counts around the credits and metered scenarios' runs; `summarize` sums them over the rounds.
 * @param {import("./setup.mjs").Bench} bench
 */
export function meteringCounter({ base, keys }) {
  /** @type {Record<string, any>} */
  const records = { "keyward-hot-credits": keys.credited.record, "keyward-hot-metered": keys.metered.record };
  /** @type {({ round: number, scenario: string } & Counts)[]} */
  const rounds = [];

  /**
   * The guard's counts and the gateway's guard calls now; after the runs, once the last settlements
   * (waitUntil) have landed and the last admission batch is written (FLUSH_DELAY_MS, 250 ms).
   * @param {import("./scenarios.mjs").Scenario} scenario
   * @returns {Promise<Counts>}
   */
  async function read(scenario, after = false) {
    const guard = async () => (await json(`${base(scenario.service)}/__bench/guards`, { method: "POST", body: JSON.stringify([records[scenario.id]]) }))[0];
    let status = await guard();
    for (let i = 0; after && i < 20 && (status.holdsOpen ?? 0) > 0; i++) {
      await sleep(100);
      status = await guard();
    }
    if (after) {
      await sleep(500);
      status = await guard();
    }
    const counters = await json(`${base(scenario.service)}/__bench/counters`);
    return { rows: status.rowsWritten, admitted: status.admitted, holdsOpen: status.holdsOpen ?? 0, rpcs: { ...counters.guard } };
  }

  return {
    /**
     * Runs one round of a scenario between two reads when it is one of the two (else just runs it).
     * @param {number} round
     * @param {import("./scenarios.mjs").Scenario} scenario
     * @param {() => Promise<void>} runs
     */
    async around(round, scenario, runs) {
      if (!records[scenario.id]) return runs();
      const before = await read(scenario);
      await runs();
      const after = await read(scenario, true);
      const methods = [...new Set([...Object.keys(before.rpcs), ...Object.keys(after.rpcs)])];
      const rpcs = Object.fromEntries(methods.map((m) => [m, (after.rpcs[m] ?? 0) - (before.rpcs[m] ?? 0)]).filter(([, n]) => Number(n) > 0));
      rounds.push({
        round,
        scenario: scenario.id,
        rows: after.rows - before.rows,
        admitted: after.admitted - before.admitted,
        holdsOpen: after.holdsOpen,
        rpcs,
      });
    },

    /** Per scenario: rows and guard RPCs per admitted request over all its rounds (logged too). */
    summarize() {
      /** @type {Record<string, any>} */
      const metering = {};
      for (const id of Object.keys(records)) {
        const list = rounds.filter((m) => m.scenario === id);
        if (list.length === 0) continue;
        const admitted = list.reduce((a, m) => a + m.admitted, 0);
        const rowsWritten = list.reduce((a, m) => a + m.rows, 0);
        /** @type {Record<string, number>} */
        const rpcs = {};
        for (const m of list) for (const [method, n] of Object.entries(m.rpcs)) rpcs[method] = (rpcs[method] ?? 0) + n;
        const rpcTotal = Object.values(rpcs).reduce((a, n) => a + n, 0);
        const m = {
          admitted,
          rowsWritten,
          rowsPerAdmitted: rowsWritten / Math.max(1, admitted),
          guardRpcs: rpcs,
          guardRpcsPerAdmitted: rpcTotal / Math.max(1, admitted),
          holdsOpen: list[list.length - 1]?.holdsOpen ?? 0,
          rounds: list,
        };
        metering[id] = m;
        log(
          `rows per admitted request, ${id}: ${m.rowsPerAdmitted.toFixed(3)} (${rowsWritten} rows, ${admitted} admitted over ${list.length} rounds, ${m.holdsOpen} holds open after)`,
        );
        const calls = Object.entries(rpcs).map(([method, n]) => `${method} ${n}`);
        log(`guard RPCs per admitted request, ${id}: ${m.guardRpcsPerAdmitted.toFixed(3)} (${calls.join(", ")})`);
      }
      return metering;
    },
  };
}

/**
 * Per round and concurrency, requests/s of scenario `a` over scenario `b` in the same round: median, min, max.
 * @param {any[]} runs
 * @param {string} a
 * @param {string} b
 */
export function ratioOfScenarios(runs, a, b) {
  const ratios = runs
    .filter((r) => r.scenario === a)
    .map((r) => [r, runs.find((o) => o.scenario === b && o.round === r.round && o.connections === r.connections)])
    .filter(([, o]) => o && o.rps > 0)
    .map(([r, o]) => r.rps / o.rps);
  return ratios.length === 0 ? null : summary(ratios);
}
