// @ts-check
// The throughput scenarios: each a gateway service and the keys its load uses,
// labelled as in docs/performance.md, with its floor and peer where it has them;
// --variants adds wiring variants, --scenarios keeps a subset.

/**
 * Builds the scenario list.
 * @param {import("./setup.mjs").Bench} bench
 */
export function buildScenarios({ cli, keys, manyCount, variants }) {
  const { hot, credited, orgShared, metered } = keys;
  const manyId = `keyward-${manyCount}-keys`;
  const floorManyId = `floor-${manyCount}-keys`;
  const peerManyId = `peer-${manyCount}-keys`;
  const durableManyId = `floor-durable-${manyCount}-keys`;
  const manyKeys = keys.many.map((k) => k.key);
  /** @type {{ id: string, label: string, service: string, keys: string[], floor?: string, durableFloor?: string, peer?: string, sweep?: boolean, path?: string, variant?: boolean }[]} */
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
      durableFloor: durableManyId,
      peer: peerManyId,
    },
    { id: floorManyId, label: `(c0) floor for (c), the same ${manyCount.toLocaleString("en")} keys`, service: "floor-many", keys: manyKeys, sweep: true },
    // The floor with the contract's durability and nothing more: what part of (c)'s gap to (c0) a durable window per key costs.
    {
      id: durableManyId,
      label: `(c0d) durable floor for (c), the same ${manyCount.toLocaleString("en")} keys: (c0) with a SQLite-backed object per key that reads its window's rows on wake (one statement) and writes one row per admission before answering`,
      service: "floor-many-durable",
      keys: manyKeys,
      sweep: true,
    },
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

  if (variants.round.includes("floor-noguard")) {
    scenarios.push({
      id: "floor-hot-noguard",
      label: "(v) floor for (b) with no Durable Object: the verdict answered in the isolate",
      service: "floor-noguard",
      keys: [hot.key],
      variant: true,
    });
  }
  for (const v of variants.keyward) {
    const onMany = v.startsWith("many-");
    scenarios.push({
      id: onMany ? `keyward-${manyCount}-keys-${v.slice(5).replaceAll("+", "-")}` : `keyward-hot-${v.replaceAll("+", "-")}`,
      label: `(v) Keyward, ${onMany ? `${manyCount} distinct keys` : "one hot key"}, wiring variant ${v}`,
      service: variants.service(v),
      keys: onMany ? manyKeys : [hot.key],
      ...(onMany ? { sweep: true } : {}),
      variant: true,
    });
  }
  const allScenarios = [...scenarios];
  if (cli.scenarios) {
    const wanted = new Set([
      ...cli.scenarios.split(",").flatMap((id) => (id === "many" ? [manyId, floorManyId, durableManyId, peerManyId] : [id])),
      ...scenarios.filter((s) => s.variant).map((s) => s.id),
    ]);
    const unknown = [...wanted].filter((id) => !scenarios.some((s) => s.id === id));
    if (unknown.length > 0) throw new Error(`--scenarios: unknown ${unknown.join(", ")}; known: ${scenarios.map((s) => s.id).join(", ")}`);
    for (let i = scenarios.length - 1; i > 0; i--) if (!wanted.has(scenarios[i].id)) scenarios.splice(i, 1);
  }
  return { scenarios, allScenarios, manyId, scenarioById: (id) => allScenarios.find((s) => s.id === id) };
}

/** @typedef {ReturnType<typeof buildScenarios>} Scenarios */
/** @typedef {Scenarios["scenarios"][number]} Scenario */
