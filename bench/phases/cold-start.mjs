// @ts-check
// Cold start: the Worker as `wrangler deploy --dry-run` builds it, and the
// pass-through proxy for reference, each started in fresh workerd processes
// (bench/lib/coldstart.mjs); medians per Worker.
import path from "node:path";
import { coldStarts, dryRunBuild } from "../lib/coldstart.mjs";
import { makeKey } from "../lib/keys.mjs";
import { elapsed, log } from "../lib/log.mjs";
import { BIG_LIMIT } from "../lib/options.mjs";
import { median } from "../lib/stats.mjs";
import { BUILD_DIR } from "../lib/workerd.mjs";

/**
 * Runs the cold-start phase; returns the bundle's sizes, every sample and the medians.
 * @param {import("./setup.mjs").Bench} bench
 */
export async function runColdStart({ plan, origin, jwk, storageDir }) {
  log(`[${elapsed()}] cold start: wrangler deploy --dry-run, then ${plan.coldStartSamples} fresh workerd processes per Worker`);
  const build = dryRunBuild();
  log(
    `  [${elapsed()}] deploy bundle: ${build.modules.map((m) => `${m.file} ${(m.bytes / 1024).toFixed(0)} KiB (${(m.gzipBytes / 1024).toFixed(0)} KiB gzip)`).join(", ")}`,
  );
  const coldKey = makeKey(BIG_LIMIT);
  const targets = [
    {
      id: "pass-through",
      modules: [{ name: "passthrough.js", path: path.join(BUILD_DIR, "passthrough.js") }],
      bindings: { ORIGIN_URL: { text: origin.url } },
    },
    {
      id: "keyward",
      modules: [
        ...build.modules.map((m) => ({ name: m.file, path: path.join(build.outdir, m.file) })),
        ...build.textModules.map((file) => ({ name: file, path: path.join(build.outdir, file), text: true })),
      ],
      bindings: {
        KEYS: { kv: "kv" },
        KEY_GUARD: { durableObject: "KeyGuard" },
        ORG_LEDGER: { durableObject: "OrgLedger" },
        KEYWARD_ENV: { text: "development" },
        ORIGIN_URL: { text: origin.url },
        KEYWARD_SIGNING_KEY: { text: JSON.stringify({ ...jwk, kid: "bench-signing-key" }) },
      },
      durableObjects: ["KeyGuard", "OrgLedger"],
    },
  ];
  const samples = await coldStarts({ targets, samples: plan.coldStartSamples, originPort: origin.port, key: coldKey, storageRoot: storageDir, log });
  const med = (list, field) => median(list.map((x) => x[field]));
  return {
    bundle: { modules: build.modules.map(({ file, bytes, gzipBytes }) => ({ file, bytes, gzipBytes })) },
    samples,
    summary: Object.fromEntries(
      Object.entries(samples).map(([id, list]) => [
        id,
        {
          listenMs: med(list, "listenMs"),
          listenCpuMs: med(list, "listenCpuMs"),
          firstMs: med(list, "firstMs"),
          firstCpuMs: med(list, "firstCpuMs"),
          secondMs: med(list, "secondMs"),
          statuses: list.map((x) => x.firstStatus),
        },
      ]),
    ),
  };
}
