/**
 * Per-operation CPU costs of the request path's pieces, measured one at a time
 * in the gateway's isolate (`npm run bench -- --micro`). The bench calls
 * /__bench/micro?op=OP&n=N on a Keyward service and reads workerd's CPU time
 * before and after; the "noop" loop's cost is subtracted. No profiler is
 * attached, so nothing is inflated by sampling.
 */
import type { GuardCheck } from "../../src/guard/guard-types";
import type { KeyGuard } from "../../src/guard/key-guard";
import { contextSigner } from "../../src/identity/context-token";
import { hashKey, keyParser } from "../../src/keys/key-format";
import { settingsOf } from "../../src/keys/key-model";
import type { KeyRecord } from "../../src/lookup/key-record";
import { originHeaders } from "../../src/proxy/forward";
import { RequestDeadlines } from "../../src/timeout";
import { describeCaller } from "../../src/usage/caller";
import type { BenchGuard } from "./bench-guard";

type App = { fetch: (request: Request, env: never, ctx: ExecutionContext) => Response | Promise<Response> };
/** Builds Keyward's app as the bench Worker does, with a wiring variant and an origin fetch of the caller's. */
export type BuildApp = (variant: string, originFetch: typeof fetch, policy?: unknown) => App;

/** The metered scenario's route policy (bench/lib/options.mjs METERED_POLICY): every request on /v1/metered holds 100. */
const METERED_POLICY = { rules: [{ method: "*", path: "/v1/metered", permission: null, reserve: 100 }] };

/** The metered scenario's origin, made in the isolate: it reports a charge of 7 (settled from the header, the rest released). */
const chargingOrigin: typeof fetch = async () => new Response('{"ok":true}', { headers: { "content-type": "application/json", "keyward-charge": "7" } });

/** What a small JSON origin answers, made in the isolate: the app ops price Keyward without the network. */
const fakeOrigin: typeof fetch = async () => new Response('{"ok":true}', { headers: { "content-type": "application/json" } });

export interface MicroEnv {
  ORIGIN_URL: string;
  KEY_GUARD: DurableObjectNamespace<KeyGuard>;
  CONST_GUARD?: DurableObjectNamespace<KeyGuard>;
  BENCH_GUARD?: DurableObjectNamespace<BenchGuard>;
  KEYWARD_SIGNING_KEY: string;
}

/** A key of the right shape for hashing and headers; `parse` takes the bench's real hot key instead. */
const KEY = "sk_live_0123456789abcdef0123456789abcdef01234567";
const record = {
  id: "key_0123456789abcdef0123",
  org: "org_bench_micro",
  environment: "live",
  status: "active",
  version: 1,
  rateLimit: { limit: 1_000_000_000, windowSeconds: 60 },
  expiresAt: null,
} as unknown as KeyRecord;

function sampleRequest(): Request {
  return new Request("http://127.0.0.1/v1/things", {
    headers: { authorization: `Bearer ${KEY}`, "user-agent": "autocannon/7", host: "127.0.0.1", connection: "keep-alive" },
  });
}

/** One operation, built once per call of the route: returns the thing to repeat. */
function operation(op: string, env: MicroEnv, ctx: ExecutionContext, buildApp: BuildApp, hotKey: string): () => unknown {
  const signer = contextSigner({ privateJwk: JSON.parse(env.KEYWARD_SIGNING_KEY), issuer: "keyward", ttlSeconds: 60, now: Date.now });
  const claims = {
    org: record.org,
    keyId: record.id,
    environment: "live" as const,
    requestId: crypto.randomUUID(),
    method: "GET",
    path: "/v1/things",
    query: "",
    user: null,
    permissions: null,
    creditsRemaining: null,
    meta: null,
  };
  const request = sampleRequest();
  // The hot key is well formed with a valid checksum: parsed the whole way, as the gateway parses it.
  const parse = keyParser(hotKey.slice(0, hotKey.indexOf("_")));
  // As the gateway sends it with usage counting on (the caller's place and agent).
  const check = (): GuardCheck => ({
    requestId: crypto.randomUUID(),
    consume: true,
    cost: 1,
    settings: settingsOf(record),
    org: record.org,
    caller: { country: null, asn: null, colo: null, browser: false, agent: "other" },
  });
  const identity = {
    "x-keyward-org": record.org,
    "x-keyward-key-id": record.id,
    "x-keyward-environment": "live",
    "x-keyward-request-id": claims.requestId,
    "x-keyward-context": "x".repeat(600),
  };
  switch (op) {
    case "noop":
      return () => Promise.resolve();
    case "sign":
      return () => signer.sign({ ...claims, requestId: crypto.randomUUID() });
    case "uuid":
      return () => crypto.randomUUID();
    case "parse":
      return () => {
        if (!parse(hotKey).ok) throw new Error("micro: the hot key did not parse");
      };
    case "hash":
      return () => hashKey(KEY);
    case "caller":
      return () => describeCaller(request);
    case "url":
      return () => new URL(request.url);
    case "headers":
      return () => originHeaders(request.headers, ["authorization"], identity);
    case "timer":
      return () => {
        const d = new RequestDeadlines();
        d.clear();
      };
    case "response":
      return () => {
        const out = new Response(new Response("{}", { headers: { "content-type": "application/json" } }).body, { status: 200 });
        for (const [n, v] of [
          ["ratelimit-limit", "1"],
          ["ratelimit-remaining", "1"],
          ["ratelimit-reset", "1"],
          ["ratelimit", "x"],
          ["ratelimit-policy", "y"],
        ] as const)
          out.headers.set(n, v);
        return out;
      };
    case "timer-race":
      return async () => {
        const d = new RequestDeadlines();
        await d.race(Promise.resolve(1), 5000, () => new Error("late"));
        d.clear();
      };
    case "fetch-plain":
      return async () => (await fetch(`${env.ORIGIN_URL}/v1/things`)).arrayBuffer();
    case "fetch-signal":
      return async () => (await fetch(`${env.ORIGIN_URL}/v1/things`, { signal: new AbortController().signal })).arrayBuffer();
    case "fetch-manual":
      return async () => (await fetch(`${env.ORIGIN_URL}/v1/things`, { redirect: "manual" })).arrayBuffer();
    case "fetch-headers": {
      const headers = originHeaders(request.headers, ["authorization"], identity);
      return async () => (await fetch(`${env.ORIGIN_URL}/v1/things`, { headers })).arrayBuffer();
    }
    case "fetch-client-headers":
      // The floor's: a copy of the client's headers, less the credential.
      return async () => {
        const headers = new Headers(request.headers);
        headers.delete("authorization");
        return (await fetch(`${env.ORIGIN_URL}/v1/things`, { headers })).arrayBuffer();
      };
    case "fetch-keyward": {
      // As forward() calls it: Keyward's headers, manual redirects, an abort signal.
      const headers = originHeaders(request.headers, ["authorization"], identity);
      return async () => {
        const controller = new AbortController();
        const response = await fetch(`${env.ORIGIN_URL}/v1/things`, { method: "GET", headers, body: null, redirect: "manual", signal: controller.signal });
        return response.arrayBuffer();
      };
    }
    case "app-noguard":
    case "app-constguard":
    case "app-full": {
      const app = buildApp(op === "app-full" ? "" : op.slice(4), fakeOrigin);
      return async () => {
        const response = await app.fetch(
          new Request("http://127.0.0.1/v1/things", { headers: { authorization: `Bearer ${hotKey}`, "user-agent": "autocannon" } }),
          env as never,
          ctx,
        );
        if (response.status !== 200) throw new Error(`app answered ${response.status}`);
        return response.arrayBuffer();
      };
    }
    case "app-credits":
    case "app-metered": {
      // One key with credits, as the credits and metered scenarios send it (the key from the caller:
      // the bench's credited or metered key), one request at a time: what metering adds to a request.
      const metered = op === "app-metered";
      const app = metered ? buildApp("", chargingOrigin, METERED_POLICY) : buildApp("", fakeOrigin);
      const url = `http://127.0.0.1/v1/${metered ? "metered" : "things"}`;
      return async () => {
        const response = await app.fetch(new Request(url, { headers: { authorization: `Bearer ${hotKey}`, "user-agent": "autocannon" } }), env as never, ctx);
        if (response.status !== 200) throw new Error(`app answered ${response.status}`);
        return response.arrayBuffer();
      };
    }
    case "rpc-key": {
      const ns = env.KEY_GUARD;
      return () => ns.get(ns.idFromName(record.id)).check(check());
    }
    case "guard-construct-20": {
      // The guard's constructor 20 times per call, on storage holding a used key's rows: per call ÷ 20 is one wake's JavaScript and SQL.
      const ns = env.BENCH_GUARD;
      if (!ns) throw new Error("no BENCH_GUARD binding");
      const stub = ns.get(ns.idFromName(record.id));
      let used = false;
      return async () => {
        if (!used) {
          await stub.check(check());
          used = true;
        }
        return stub.construct(20);
      };
    }
    case "id-from-name": {
      const ns = env.KEY_GUARD;
      return () => ns.idFromName(record.id);
    }
    case "stub-get": {
      const ns = env.KEY_GUARD;
      const id = ns.idFromName(record.id);
      return () => ns.get(id);
    }
    case "rpc-key-cached-id": {
      // As rpc-key, with the object's id worked out once (ids, unlike stubs, may outlive a request).
      const ns = env.KEY_GUARD;
      const id = ns.idFromName(record.id);
      return () => ns.get(id).check(check());
    }
    case "rpc-key-same-stub": {
      const ns = env.KEY_GUARD;
      const stub = ns.get(ns.idFromName(record.id));
      return () => stub.check(check());
    }
    case "rpc-report": {
      // A check, then the guard's alarm with a report due (its clock a minute on each time): the report's cost is this minus rpc-key.
      // BenchGuard: KeyGuard with the alarm's clock reachable (bench-guard.ts).
      const ns = env.BENCH_GUARD;
      if (!ns) throw new Error("no BENCH_GUARD binding");
      const stub = ns.get(ns.idFromName(`${record.id}-report`));
      const settings = { ...settingsOf(record), keyId: `${record.id}-report` };
      let at = Date.now();
      return async () => {
        await stub.check({ ...check(), settings });
        at += 61_000;
        await stub.alarmAt(at);
      };
    }
    case "rpc-alarm": {
      // The same, with no report due: the alarm's round trip and rearm alone.
      const ns = env.BENCH_GUARD;
      if (!ns) throw new Error("no BENCH_GUARD binding");
      const stub = ns.get(ns.idFromName(`${record.id}-alarm`));
      const settings = { ...settingsOf(record), keyId: `${record.id}-alarm` };
      return async () => {
        await stub.check({ ...check(), settings });
        await stub.alarmAt(Date.now());
      };
    }
    case "rpc-const-min": {
      // The same object and answer, the smallest input: what the check's payload costs is rpc-const minus this.
      const ns = env.CONST_GUARD;
      if (!ns) throw new Error("no CONST_GUARD binding");
      return () => ns.get(ns.idFromName(record.id)).check({ requestId: "", consume: true } as GuardCheck);
    }
    case "rpc-const": {
      const ns = env.CONST_GUARD;
      if (!ns) throw new Error("no CONST_GUARD binding");
      return () => ns.get(ns.idFromName(record.id)).check(check());
    }
    default:
      throw new Error(`unknown micro op ${op}`);
  }
}

export async function micro(url: URL, env: MicroEnv, ctx: ExecutionContext, buildApp: BuildApp): Promise<Response> {
  const op = url.searchParams.get("op") ?? "noop";
  const n = Number(url.searchParams.get("n") ?? "1000");
  const run = operation(op, env, ctx, buildApp, url.searchParams.get("key") ?? "");
  // Warm: JIT, key import, the object's creation.
  for (let i = 0; i < 50; i++) await run();
  const started = Date.now();
  for (let i = 0; i < n; i++) await run();
  return Response.json({ op, n, wallMs: Date.now() - started });
}
