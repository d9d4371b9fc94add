// @ts-check
// Setup: bundles the bench Workers, starts the origin and one workerd serving
// every gateway, and seeds the keys the scenarios use. Returns the bench: what
// every later phase reads (options, processes, keys, measuring helpers).
import { generateKeyPairSync } from "node:crypto";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import path from "node:path";
import { makeKey } from "../lib/keys.mjs";
import { elapsed, log } from "../lib/log.mjs";
import { fdLimit, keyCap, machine } from "../lib/machine.mjs";
import { json, measurer } from "../lib/measure.mjs";
import { BIG_LIMIT, METERED_POLICY } from "../lib/options.mjs";
import { removeAtEnd, startOrigin, startWorkerd } from "../lib/processes.mjs";
import { BUILD_DIR, bundle, resetStorage, writeConfig } from "../lib/workerd.mjs";
import { latencyServices } from "./latency.mjs";

// Durable Object storage: tmpfs when the machine has one (local-disk fsyncs are
// not what a Durable Object costs in production, and they dominate scenario (c)
// on a slow disk), else bench/.build. --storage picks a directory.
function chooseStorage(option) {
  if (option) return path.resolve(option);
  if (existsSync("/dev/shm")) {
    try {
      const dir = mkdtempSync("/dev/shm/keyward-bench-");
      removeAtEnd(dir);
      return dir;
    } catch {}
  }
  return path.join(BUILD_DIR, "do-storage");
}

/**
 * Runs the setup phase.
 * @param {import("../lib/options.mjs").Options} options
 */
export async function setup({ cli, quick, plan }) {
  log(`keyward bench: ${quick ? "quick" : "full"} run on ${machine.nproc} cores, node ${machine.node}, workerd ${machine.workerd}`);
  await bundle();
  const storageDir = chooseStorage(cli.storage);
  resetStorage(storageDir);
  const origin = await startOrigin();

  const jwk = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ format: "jwk" });
  // The many-keys services' quiet keys report once per plan.reportPeriodSeconds, not 4.5 minutes
  // (bench/lib/options.mjs): only there, so that every other scenario and the cost phase see production's periods.
  const manyKeysVars = { KEYWARD_DEV_QUIET_REPORT_PERIOD_MS: String(Math.round(plan.reportPeriodSeconds * 1000)) };
  /** @type {{ name: string, originService?: boolean, variant?: string, vars?: Record<string, string> }[]} */
  const keywardServices = [
    { name: "keyward-hot" },
    { name: "keyward-many", vars: manyKeysVars },
    { name: "keyward-service", originService: true },
    // Usage counting priced in the same run (docs/usage.md): two fresh twins that
    // differ only in USAGE_COUNTING, and serve nothing but the hot key, so neither
    // carries another scenario's guards, seeding or history.
    { name: "keyward-counted" },
    { name: "keyward-nousage", vars: { USAGE_COUNTING: "off" } },
    // Metering (docs/metering.md): a route that holds 100 credits at admission and is settled
    // from the origin's Keyward-Charge (37), beside plain credits on the hot key.
    { name: "keyward-metered", vars: { BENCH_POLICY: JSON.stringify(METERED_POLICY) } },
    // The latency mode (bench/phases/latency.mjs): the same Keyward with and without a simulated distance.
    ...(cli["skip-latency"] ? [] : latencyServices()),
  ];
  const profiledVariants = ["nolog", "noguard", "nolog+noguard"];
  if (cli.profile) for (const v of profiledVariants) keywardServices.push({ name: `keyward-${v.replaceAll("+", "-")}`, variant: v });
  if (cli.micro) keywardServices.push({ name: "keyward-micro" });
  const roundVariants = (cli.variants ?? "").split(",").filter((v) => v !== "");
  // Keyward's variants ("floor-…" are the floor's, served by its own services); "many-X":
  // variant X on the many-keys set; "nousage" in a variant turns usage counting off.
  const keywardVariants = roundVariants.filter((v) => !v.startsWith("floor-"));
  const variantService = (v) => `keyward-v-${v.replaceAll("+", "-")}`;
  for (const v of keywardVariants) {
    keywardServices.push({
      name: variantService(v),
      variant: v.replace(/^many-/, ""),
      vars: { ...(v.startsWith("many-") ? manyKeysVars : {}), ...(v.includes("nousage") ? { USAGE_COUNTING: "off" } : {}) },
    });
  }
  const { file, gateways } = writeConfig({ originPort: origin.port, storageDir, signingKey: { ...jwk, kid: "bench-signing-key" }, keywardServices });
  const logFile = path.join(BUILD_DIR, "workerd.log");
  writeFileSync(logFile, "");
  const workerd = await startWorkerd({ configFile: file, sockets: gateways, logFile, inspector: cli.profile || Boolean(cli["micro-profile"]) });
  const port = (service) => workerd.ports[service];
  const base = (service) => `http://127.0.0.1:${port(service)}`;
  log(`[${elapsed()}] workerd up: ${gateways.map((g) => `${g}=${port(g)}`).join(" ")}; origin=${origin.port}`);

  /** Writes keys' KV records (500 a request). */
  async function seed(keys) {
    for (let i = 0; i < keys.length; i += 500) {
      const chunk = keys.slice(i, i + 500).map((k) => [k.hash, k.record]);
      await json(`${base("keyward-hot")}/__bench/seed`, { method: "POST", body: JSON.stringify(chunk) });
    }
  }

  const manyCount = Math.min(plan.keys, keyCap);
  const hot = makeKey(BIG_LIMIT);
  // The hot key again with credits (a balance it never runs out of), and one in an org with a shared limit.
  const credited = makeKey(BIG_LIMIT);
  credited.record.credits = { remaining: 1e12, refill: null, refilledAt: Date.now() };
  const orgShared = makeKey({ ...BIG_LIMIT, org: "org_bench_shared" });
  const metered = makeKey(BIG_LIMIT);
  metered.record.credits = { remaining: 1e12, refill: null, refilledAt: Date.now() };
  const many = Array.from({ length: manyCount }, () => makeKey(BIG_LIMIT));
  await seed([hot, credited, orgShared, metered, ...many]);
  await json(`${base("keyward-hot")}/__bench/org-limit`, {
    method: "POST",
    body: JSON.stringify({ records: [orgShared.record], limit: BIG_LIMIT.limit, windowSeconds: BIG_LIMIT.windowSeconds }),
  });
  if (manyCount < plan.keys) {
    log(
      `note: scenario (c) uses ${manyCount} keys, not ${plan.keys}: the open-file limit (${fdLimit}) allows about ${keyCap} live SQLite-backed guards (3 files each)`,
    );
  }
  log(`[${elapsed()}] seeded ${1 + manyCount} keys`);

  return {
    cli,
    quick,
    plan,
    storageDir,
    origin,
    workerd,
    jwk,
    port,
    base,
    seed,
    ...measurer({ workerd, origin, port }),
    keys: { hot, credited, orgShared, metered, many },
    manyCount,
    variants: { profiled: profiledVariants, round: roundVariants, keyward: keywardVariants, service: variantService },
  };
}

/** @typedef {Awaited<ReturnType<typeof setup>>} Bench */
