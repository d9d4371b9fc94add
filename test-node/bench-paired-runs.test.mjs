// @ts-check
// The bench's paired measure (bench/lib/paired-runs.mjs): the slice order gives both
// scenarios of a pair the same share of a linear drift, and a run combined from slices
// adds requests and seconds and weighs per-request counts by requests.
import { describe, expect, it } from "vitest";
import { combineSlices, sliceOrder } from "../bench/lib/paired-runs.mjs";

/** A measure() result of one slice, with its latencies as runLoad attaches them (not enumerable). */
function slice({ seconds, ok, workerd, faults = 0, latencies }) {
  const s = {
    seconds,
    requests: ok,
    ok,
    non2xx: 0,
    errors: 0,
    timeouts: 0,
    statuses: { 200: ok },
    rps: ok / seconds,
    cpuMicrosPerRequest: { workerd, workerdUser: workerd, workerdSystem: 0, origin: 1, loadGenerator: 1 },
    workerdMinorFaultsPerRequest: faults,
  };
  Object.defineProperty(s, "latencies", { value: Float64Array.from(latencies).sort(), enumerable: false });
  return s;
}

describe("sliceOrder", () => {
  it("alternates ABBA and BAAB from run to run, so neither always goes first", () => {
    expect(sliceOrder("a", "b", 1, 0)).toEqual(["a", "b", "b", "a"]);
    expect(sliceOrder("a", "b", 1, 1)).toEqual(["b", "a", "a", "b"]);
    expect(sliceOrder("a", "b", 2, 0)).toEqual(["b", "a", "a", "b"]);
  });

  it("gives both the same share of a drift linear in time (slice i costs 1 + i/10)", () => {
    for (const [round, index] of [
      [1, 0],
      [2, 0],
    ]) {
      const order = sliceOrder("a", "b", round, index);
      const share = (id) => order.reduce((n, s, i) => n + (s === id ? 1 + i / 10 : 0), 0);
      expect(share("a")).toBeCloseTo(share("b"), 12);
    }
  });
});

describe("combineSlices", () => {
  it("adds requests and seconds, weighs CPU per request by requests, and takes percentiles over all latencies", () => {
    const run = combineSlices([
      slice({ seconds: 2, ok: 1000, workerd: 600, faults: 2, latencies: [1, 2, 3] }),
      slice({ seconds: 2, ok: 3000, workerd: 1000, faults: 6, latencies: [10, 20, 30, 40, 50] }),
    ]);
    expect(run.requests).toBe(4000);
    expect(run.seconds).toBe(4);
    expect(run.rps).toBe(1000);
    // (1000 × 600 + 3000 × 1000) ÷ 4000: the slices' workerd CPU over their requests.
    expect(run.cpuMicrosPerRequest?.workerd).toBe(900);
    // Minor faults weighed the same way: (1000 × 2 + 3000 × 6) ÷ 4000.
    expect(run.workerdMinorFaultsPerRequest).toBe(5);
    expect(run.statuses).toEqual({ 200: 4000 });
    expect(run.p50).toBe(10);
    expect(run.p99).toBe(50);
    expect(run.slices.map((s) => s.rps)).toEqual([500, 1500]);
    expect("storagePerRequest" in run).toBe(false);
  });
});
