// @ts-check
// Where the CPU a Keyward scenario adds over its floor goes, from the two
// scenarios' CPU profiles (--profile).

/** A whole number with its sign, as "+12" or "-3". */
export const fmtSigned = (x) => `${x >= 0 ? "+" : ""}${x.toFixed(0)}`;

/** Where the CPU a Keyward scenario adds over its floor goes: profile buckets, Keyward's minus the floor's, per request. */
export function floorSplit(keyward, floor) {
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
    wakes: { keyward: keyward.storagePerRequest?.wakes ?? null, floor: floor.storagePerRequest?.wakes ?? null },
    rows,
    stages: stageSplit(keyward, floor),
  };
}

/** What workerd spent outside the isolate's sampled JavaScript and native calls (idle excluded): C++ the profile cannot see, kernel time included. */
const OUTSIDE = "outside the profile (workerd's C++: objects' SQLite files, I/O, RPC dispatch; kernel time)";

/**
 * The same difference by stage of the request (cpuprofile.mjs STAGES: the guard's wake,
 * the admission's write, usage bookkeeping, the context token, the rest), plus what the
 * profile does not see: each side's workerd CPU less its sampled time.
 */
function stageSplit(keyward, floor) {
  const withOutside = (p) => {
    const stages = { ...(p.stagesMicrosPerRequest ?? {}) };
    delete stages["(idle)"];
    const sampled = Object.values(stages).reduce((a, v) => a + v, 0);
    return { ...stages, [OUTSIDE]: p.workerdMicrosPerRequest - sampled };
  };
  const k = withOutside(keyward);
  const f = withOutside(floor);
  return [...new Set([...Object.keys(k), ...Object.keys(f)])]
    .map((stage) => ({ stage, keyward: k[stage] ?? 0, floor: f[stage] ?? 0, delta: (k[stage] ?? 0) - (f[stage] ?? 0) }))
    .sort((a, b) => b.delta - a.delta);
}

/** Printed lines per split: the workerd difference, then each bucket that moved by 3 µs or more; then the same by stage. */
export function floorSplitLines(splits) {
  return splits.flatMap((s) => [
    `split of ${s.scenario} over ${s.floor} (profile, µs/request): workerd ${fmtSigned(s.workerd.keyward - s.workerd.floor)}; ${s.rows
      .filter((r) => Math.abs(r.delta) >= 3)
      .map((r) => `${r.bucket} ${fmtSigned(r.delta)}`)
      .join(", ")}`,
    `stages of ${s.scenario} over ${s.floor} (profile, µs/request, keyward - floor${s.wakes.keyward === null ? "" : `; wakes per request ${s.wakes.keyward.toFixed(2)} - ${(s.wakes.floor ?? 0).toFixed(2)}`}): ${s.stages
      .filter((r) => Math.abs(r.delta) >= 3)
      .map((r) => `${r.stage} ${r.keyward.toFixed(0)} - ${r.floor.toFixed(0)} = ${fmtSigned(r.delta)}`)
      .join("; ")}`,
  ]);
}
