// @ts-check
// The throughput tables from the measured runs: ratios to pass-through, to each
// scenario's floor, durable floor and peer, always against a run of the same round.
import { median, summary } from "./stats.mjs";

/**
 * Per scenario and concurrency: medians and spread over rounds, each as a ratio
 * to pass-through of the same round; for a scenario with a floor, also its ratio
 * to the floor and the workerd CPU it adds over the floor, in the same round.
 */
export function summarizeThroughput(runs, scenarios, connectionsList) {
  const byKey = new Map(runs.map((r) => [`${r.round}|${r.connections}|${r.scenario}`, r]));
  const table = [];
  const overall = {};
  for (const s of scenarios) {
    const allRatios = [];
    /** @type {Record<"floorRatio" | "cpuOverFloor" | "cpu" | "floorCpu" | "peerRatio" | "durableRatio" | "durableCpu" | "cpuOverDurable", number[]>} */
    const all = { floorRatio: [], cpuOverFloor: [], cpu: [], floorCpu: [], peerRatio: [], durableRatio: [], durableCpu: [], cpuOverDurable: [] };
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
      /** @type {{ id: string, rpsRatio: ReturnType<typeof summary>, cpuOverFloor: ReturnType<typeof summary> } | null} */
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
      // Against the durable floor (the floor with a durable window per key), same round and concurrency.
      if (s.durableFloor) {
        all.durableRatio.push(...ratio("rps", s.durableFloor));
        for (const r of mine) {
          const d = byKey.get(`${r.round}|${r.connections}|${s.durableFloor}`);
          if (!d) continue;
          all.durableCpu.push(d.cpuMicrosPerRequest.workerd);
          all.cpuOverDurable.push(r.cpuMicrosPerRequest.workerd - d.cpuMicrosPerRequest.workerd);
        }
      }
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
      if (s.durableFloor && all.durableCpu.length > 0) {
        overall[s.id].durableFloor = {
          id: s.durableFloor,
          rpsRatio: summary(all.durableRatio),
          cpu: summary(all.durableCpu),
          cpuOver: summary(all.cpuOverDurable),
        };
      }
    }
  }
  return { table, overall };
}
