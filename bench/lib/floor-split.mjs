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
    rows,
  };
}

/** One printed line per split: the workerd difference, then each bucket that moved by 3 µs or more. */
export function floorSplitLines(splits) {
  return splits.map(
    (s) =>
      `split of ${s.scenario} over ${s.floor} (profile, µs/request): workerd ${fmtSigned(s.workerd.keyward - s.workerd.floor)}; ${s.rows
        .filter((r) => Math.abs(r.delta) >= 3)
        .map((r) => `${r.bucket} ${fmtSigned(r.delta)}`)
        .join(", ")}`,
  );
}
