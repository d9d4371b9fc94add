// @ts-check
// Cost: what each kind of request costs each gateway in billed operations
// (counted, not timed), then the four traffic regimes priced from them.

import { costMeter } from "../lib/cost-kind.mjs";
import { BUSY_RATE, priceRegimes, regimeLines } from "../lib/cost-regimes.mjs";
import { generateKey, makeKey, malformedKey } from "../lib/keys.mjs";
import { elapsed, log } from "../lib/log.mjs";
import { json } from "../lib/measure.mjs";
import { BIG_LIMIT } from "../lib/options.mjs";

/**
 * Runs the cost phase; returns the counted rows and the priced regimes.
 * @param {import("./setup.mjs").Bench} bench
 */
export async function runCost(bench) {
  const { plan, base, seed } = bench;
  /** @type {any[]} */
  const cost = [];
  const { measureKind, flushWait } = costMeter(bench, cost);
  const N = plan.costRequests;
  log(`[${elapsed()}] cost: ${N} requests per kind`);
  const unknownKeys = Array.from({ length: N }, () => generateKey().key);
  const malformed = Array.from({ length: N }, () => malformedKey());

  // Keyward
  const admitted = makeKey(BIG_LIMIT);
  const sparse = makeKey(BIG_LIMIT);
  const refused = makeKey({ limit: 1, windowSeconds: 3600 });
  const peerAdmitted = makeKey(BIG_LIMIT);
  const peerSparse = makeKey(BIG_LIMIT);
  const peerRefused = makeKey({ limit: 1, windowSeconds: 3600 });
  await seed([admitted, sparse, refused, peerAdmitted, peerSparse, peerRefused]);
  // Use up the refused keys' single admission before counting.
  for (const [service, key] of /** @type {const} */ ([
    ["keyward-hot", refused],
    ["peer", peerRefused],
  ])) {
    const r = await fetch(`${base(service)}/v1/things`, { headers: { authorization: `Bearer ${key.key}` } });
    await r.arrayBuffer();
  }
  await flushWait();

  await measureKind({ gateway: "keyward", kind: "admitted", keys: Array(N).fill(admitted.key), records: [admitted.record], expect: 200 });
  // The same, with usage counting off: rows per admitted request must not differ.
  const uncounted = makeKey(BIG_LIMIT);
  await seed([uncounted]);
  await measureKind({ gateway: "keyward-nousage", kind: "admitted", keys: Array(N).fill(uncounted.key), records: [uncounted.record], expect: 200 });
  if (plan.sparseRequests > 0) {
    await measureKind({
      gateway: "keyward",
      kind: "admitted (sparse)",
      keys: Array(plan.sparseRequests).fill(sparse.key),
      records: [sparse.record],
      sequentialGapMs: 300,
      expect: 200,
    });
  }
  await measureKind({ gateway: "keyward", kind: "refused (429)", keys: Array(N).fill(refused.key), records: [refused.record], expect: 429 });
  await measureKind({ gateway: "keyward", kind: "unknown key", keys: unknownKeys, expect: 401 });
  await measureKind({ gateway: "keyward", kind: "malformed key", keys: malformed, expect: 401 });

  await measureKind({ gateway: "peer", kind: "admitted", keys: Array(N).fill(peerAdmitted.key), limiterIds: [peerAdmitted.record.id], expect: 200 });
  if (plan.sparseRequests > 0) {
    await measureKind({
      gateway: "peer",
      kind: "admitted (sparse)",
      keys: Array(plan.sparseRequests).fill(peerSparse.key),
      limiterIds: [peerSparse.record.id],
      sequentialGapMs: 300,
      expect: 200,
    });
  }
  await measureKind({ gateway: "peer", kind: "refused (429)", keys: Array(N).fill(peerRefused.key), limiterIds: [peerRefused.record.id], expect: 429 });
  await measureKind({ gateway: "peer", kind: "unknown key", keys: unknownKeys, expect: 401 });
  await measureKind({ gateway: "peer", kind: "malformed key", keys: malformed, expect: 401 });

  // The four traffic regimes (bench/lib/cost-regimes.mjs): a paced busy run on a
  // fresh key of each gateway, the peer with one window per request, and one
  // usage report priced end to end; the slow regimes are computed from these and
  // the sparse kinds above.
  const [kBusy, pBusy, pWindow, kSparse] = [makeKey(BIG_LIMIT), makeKey(BIG_LIMIT), makeKey({ ...BIG_LIMIT, windowSeconds: 1 }), makeKey(BIG_LIMIT)];
  await seed([kBusy, pBusy, pWindow, kSparse]);
  const paced = `admitted (${BUSY_RATE}/s)`;
  const per = (row) => row.perRequest;
  const keywardBusy = per(
    await measureKind({ gateway: "keyward", kind: paced, keys: Array(N).fill(kBusy.key), records: [kBusy.record], rate: BUSY_RATE, expect: 200 }),
  );
  const keywardSparse = cost.find((c) => c.gateway === "keyward" && c.kind === "admitted (sparse)")?.perRequest;
  const peerBusy = per(
    await measureKind({ gateway: "peer", kind: paced, keys: Array(N).fill(pBusy.key), limiterIds: [pBusy.record.id], rate: BUSY_RATE, expect: 200 }),
  );
  // A 1 s window and 1.2 s between requests: every request opens a window, whose alarm fires before the next.
  const peerWindow = per(
    await measureKind({
      gateway: "peer",
      kind: "admitted (window per request)",
      keys: Array(Math.max(2, plan.sparseRequests)).fill(pWindow.key),
      limiterIds: [pWindow.record.id],
      sequentialGapMs: 1200,
      expect: 200,
    }),
  );
  const priced = await json(`${base("keyward-hot")}/__bench/report-cost`, { method: "POST", body: JSON.stringify(kSparse.record) });
  const wall = await json(`${base("peer")}/__bench/limiter-wall`, { method: "POST" });
  const costRegimes = priceRegimes({
    keyward: { busy: keywardBusy, sparse: keywardSparse, ...priced },
    peer: { busy: peerBusy, window: peerWindow, wall },
  });
  for (const line of regimeLines(costRegimes)) log(`  ${line}`);
  return { cost, costRegimes };
}
