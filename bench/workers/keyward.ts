/**
 * Bench-only Worker entry for Keyward. It wires the app exactly as src/index.ts
 * does (createKeyward with the same config loader, route policy, logger and global
 * fetch to the origin) except that the KV binding and the guard namespace are
 * wrapped in counting proxies, and origin fetches are counted. Bench-only routes
 * under /__bench/ expose the counters, seed key records into KV and read guard
 * status (describe()); they use the raw bindings, so they are never counted.
 *
 * Latency mode (BENCH_DISTANCE, bench/workers/distance.ts): each simulated
 * location (X-Keyward-Dev-Location) gets its own app, as each Cloudflare location
 * runs its own isolates, whose calls to the guards and lease holders cross the
 * simulated distance.
 */

import policyFile from "../../keyward.policy.json";
import { createKeyward } from "../../src/app";
import { compilePolicy } from "../../src/authz/policy";
import { loadConfig } from "../../src/config";
import type { Env } from "../../src/env";
import { FLUSH_DELAY_MS, flushDelay } from "../../src/guard/admission-log";
import type { GuardCheck } from "../../src/guard/guard-types";
import { KeyGuard as ShippedKeyGuard } from "../../src/guard/key-guard";
import { holderName } from "../../src/guard/lease-desk";
import { DEV_LOCATION_HEADER } from "../../src/guard/lease-location";
import { settingsOf } from "../../src/keys/key-model";
import { consoleLogger, silentLogger } from "../../src/log";
import { type KeyRecord, kvKeyFor } from "../../src/lookup/key-record";
import { BUSY_REPORT_REQUESTS, QUIET_REPORT_PERIOD_MS, REPORT_PERIOD_MS } from "../../src/usage/usage-report";
import { countingKv, countingNamespace, type KvCounts } from "../../test-support/counting";
import type { BenchLeaseHolder } from "./bench-lease-holder";
import { delayed, distanceOf, toHome } from "./distance";
import { micro } from "./micro";
import { reportCost } from "./report-cost";
import { countWake, storageCounts } from "./storage-counts";

export { OrgLedger } from "../../src/ledger/org-ledger";
/** KeyGuard with bench-only verbs (bench-guard.ts). */
export { BenchGuard } from "./bench-guard";
export { BenchLeaseHolder } from "./bench-lease-holder";
export { BenchLedger } from "./report-cost";

/** KeyGuard with its wakes and its storage's statements and rows counted (storage-counts.ts), for the per-run lines. */
export class KeyGuard extends ShippedKeyGuard {
  constructor(ctx: DurableObjectState, env: Env) {
    countWake(ctx);
    super(ctx, env);
  }
}

type BenchEnv = Env & {
  ORIGIN_URL: string;
  KEYWARD_SIGNING_KEY: string;
  BENCH_VARIANT?: string;
  /** A route policy (JSON) for this service instead of keyward.policy.json: the metered scenario's. */
  BENCH_POLICY?: string;
  CONST_GUARD?: DurableObjectNamespace<KeyGuard>;
  FOREIGN_GUARD?: DurableObjectNamespace<KeyGuard>;
  /** The latency mode's simulated distance (bench/workers/distance.ts); unset: none. */
  BENCH_DISTANCE?: string;
};

/**
 * Variant "constguard": the floor's object (a constant admitted verdict), bound
 * in this Worker (this isolate, this bundle), to price Keyward's guard hop apart
 * from KeyGuard's class. The "foreignguard" variant calls the same class in the
 * floor's own service.
 */
export { FloorGuard } from "./floor";

const counters = {
  requests: 0,
  kv: { get: 0, put: 0, delete: 0, list: 0 } as KvCounts,
  guard: {} as Record<string, number>,
  /** Calls from the gateway to lease holders (local admission). */
  holder: {} as Record<string, number>,
  origin: 0,
};

type App = { fetch: (request: Request, env: Env, ctx: ExecutionContext) => Response | Promise<Response> };
let built: { env: BenchEnv; app: App } | null = null;
/** Latency mode: one app per simulated location. */
let located: { env: BenchEnv; apps: Map<string, App> } | null = null;
/**
 * Latency mode: how long each request waited for its admission (the gateway's
 * consuming check, at the guard or at its location's lease holder), by location.
 * In a Worker's isolate, performance.now() moves only across I/O; a wait for
 * another object is I/O, so the reads at its two ends take the wait as the
 * request saw it, queueing in the isolate included.
 */
const admissionWaits: Record<string, number[]> = {};

/**
 * Variant "noguard": a namespace whose stubs answer every check in the isolate,
 * with no Durable Object behind them (no revocation, no limit). Profile only.
 */
const inIsolateGuards = {
  idFromName: (name: string) => name,
  get: () => ({
    check: async ({ consume, settings }: GuardCheck) => ({
      kind: consume ? "admitted" : "usable",
      limit: settings.limit,
      windowSeconds: settings.windowSeconds,
      remaining: settings.limit,
      resetMs: 0,
    }),
  }),
} as unknown as DurableObjectNamespace<KeyGuard>;

/**
 * Variants (BENCH_VARIANT, used only by `npm run bench -- --profile`) change one
 * input of the wiring to show what it costs: "nolog" drops the per-request log
 * line (silent logger), "noguard" answers guard checks in the isolate.
 */
function guardsFor(variant: string, env: BenchEnv): DurableObjectNamespace<KeyGuard> {
  if (variant.includes("noguard")) return inIsolateGuards;
  if (variant.includes("constguard") && env.CONST_GUARD) return env.CONST_GUARD;
  if (variant.includes("foreignguard") && env.FOREIGN_GUARD) return env.FOREIGN_GUARD;
  return env.KEY_GUARD;
}

function build(env: BenchEnv, override: { variant?: string; fetch?: typeof fetch; location?: string; policy?: unknown } = {}): App {
  const variant = override.variant ?? env.BENCH_VARIANT ?? "";
  const distance = distanceOf(env.BENCH_DISTANCE);
  const at = override.location;
  // The guards live at the home; a location's lease holders live there, near its gateway.
  const observe = (method: string, ms: number) => {
    if (method !== "check" || at === undefined) return;
    admissionWaits[at] ??= [];
    admissionWaits[at].push(ms);
  };
  const guards = distance === null || at === undefined ? guardsFor(variant, env) : delayed(guardsFor(variant, env), () => toHome(distance, at), observe);
  const holders = distance === null || env.LEASE_HOLDER === undefined ? env.LEASE_HOLDER : delayed(env.LEASE_HOLDER, () => distance.nearMs, observe);
  // As src/index.ts: ROUTE_POLICY is not set in the bench, so keyward.policy.json applies
  // (the metered service has a policy of its own, with a metered route).
  const policy = compilePolicy(override.policy ?? (env.BENCH_POLICY ? JSON.parse(env.BENCH_POLICY) : policyFile));
  return createKeyward({
    config: loadConfig(env),
    policy,
    kv: countingKv(env.KEYS, counters.kv),
    guards: countingNamespace(guards, counters.guard),
    holders: holders === undefined ? undefined : countingNamespace(holders, counters.holder),
    ledgers: env.ORG_LEDGER,
    fetch:
      override.fetch ??
      ((input, init) => {
        counters.origin++;
        return fetch(input, init);
      }),
    originService: env.ORIGIN,
    now: () => Date.now(),
    log: variant.includes("nolog") ? silentLogger : consoleLogger,
  });
}

async function benchRoute(request: Request, env: BenchEnv, ctx: ExecutionContext, path: string): Promise<Response> {
  if (path === "/__bench/counters") return Response.json({ ...counters, storage: storageCounts() });
  if (path === "/__bench/micro") return micro(new URL(request.url), env, ctx, (variant, fetch, policy) => build(env, { variant, fetch, policy }));
  if (path === "/__bench/seed" && request.method === "POST") {
    // [[sha256 hex of the key, record], ...] written as the admin API would.
    const entries = (await request.json()) as [string, KeyRecord][];
    await Promise.all(entries.map(([hash, record]) => env.KEYS.put(kvKeyFor(hash), JSON.stringify(record))));
    return Response.json({ seeded: entries.length });
  }
  if (path === "/__bench/guards" && request.method === "POST") {
    // The guards' own view (rowsWritten, admitted, refused) of the given keys.
    const records = (await request.json()) as KeyRecord[];
    const statuses = await Promise.all(records.map((record) => env.KEY_GUARD.get(env.KEY_GUARD.idFromName(record.id)).describe(settingsOf(record))));
    return Response.json(statuses);
  }
  if (path === "/__bench/report-cost" && request.method === "POST") {
    // One usage report priced: rows and calls on both sides (bench/workers/report-cost.ts).
    const report = await reportCost(env, (await request.json()) as KeyRecord);
    return Response.json({
      report,
      reportPeriodMs: REPORT_PERIOD_MS,
      quietReportPeriodMs: QUIET_REPORT_PERIOD_MS,
      busyReportRequests: BUSY_REPORT_REQUESTS,
      flushDelayMs: FLUSH_DELAY_MS,
      // A sparse admission's flush timer (src/guard/admission-log.ts flushDelay): the next tick.
      sparseFlushDelayMs: flushDelay(1, 0, Date.now()),
      cacheTtlMs: loadConfig(env).cacheTtlMs,
    });
  }
  if (path === "/__bench/org-limit" && request.method === "POST") {
    // Gives the keys' org a shared limit, as PUT /orgs/{org}/rate-limit pushes it to each key's guard.
    const { records, limit, windowSeconds } = (await request.json()) as { records: KeyRecord[]; limit: number; windowSeconds: number };
    await Promise.all(
      records.map((record) =>
        env.KEY_GUARD.get(env.KEY_GUARD.idFromName(record.id)).setOrgLimit({
          settings: settingsOf(record),
          orgLimit: { org: record.org, limit, windowSeconds, version: 1 },
        }),
      ),
    );
    return Response.json({ orgLimited: records.length });
  }
  if (path === "/__bench/admission-waits") {
    // Latency mode: the waits recorded since the last read, by location; reading clears them.
    const waits = { ...admissionWaits };
    for (const loc of Object.keys(admissionWaits)) delete admissionWaits[loc];
    return Response.json(waits);
  }
  if (path === "/__bench/holders" && request.method === "POST") {
    // Lease holders' own counts (asks to the guard, admitted, forwarded, returned) for a key at the given locations.
    const { keyId, locations } = (await request.json()) as { keyId: string; locations: string[] };
    const holders = env.LEASE_HOLDER;
    if (holders === undefined) return Response.json({ error: "no LEASE_HOLDER binding" }, { status: 500 });
    // BenchLeaseHolder's counts(): the holder's describe is a test hook, no RPC method (bench-lease-holder.ts).
    const bench = holders as unknown as DurableObjectNamespace<BenchLeaseHolder>;
    const described = await Promise.all(locations.map((loc) => bench.get(bench.idFromName(holderName(keyId, loc))).counts()));
    return Response.json(Object.fromEntries(locations.map((loc, i) => [loc, described[i]])));
  }
  return new Response("unknown bench route", { status: 404 });
}

export default {
  fetch(request, env, ctx) {
    const path = new URL(request.url).pathname;
    if (path.startsWith("/__bench/")) return benchRoute(request, env, ctx, path);
    counters.requests++;
    const distance = distanceOf(env.BENCH_DISTANCE);
    if (distance !== null) {
      if (located === null || located.env !== env) located = { env, apps: new Map() };
      const location = request.headers.get(DEV_LOCATION_HEADER) ?? distance.home;
      const app = located.apps.get(location) ?? build(env, { location });
      located.apps.set(location, app);
      return app.fetch(request, env, ctx);
    }
    if (built === null || built.env !== env) built = { env, app: build(env) };
    return built.app.fetch(request, env, ctx);
  },
} satisfies ExportedHandler<BenchEnv>;
