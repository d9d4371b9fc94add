/**
 * (d) The peer: what a user would build without Keyward, from the stock parts.
 *   - hono/bearer-auth with a verifyToken that looks the key's SHA-256 up in KV
 *     (the same KV records Keyward uses, so limits are per key, as in Keyward);
 *   - hono-rate-limiter with @hono-rate-limiter/cloudflare's DurableObjectStore
 *     (one DurableObjectRateLimiter per key), set up per request as its README shows;
 *   - fetch() to the origin.
 * The only additions are counting wrappers (KV, DO RPCs, and the limiter's storage
 * writes) and bench-only routes under /__bench/.
 */
import { DurableObjectRateLimiter, DurableObjectStore } from "@hono-rate-limiter/cloudflare";
import { Hono } from "hono";
import { bearerAuth } from "hono/bearer-auth";
import { rateLimiter } from "hono-rate-limiter";
import { countingKv, countingNamespace, type KvCounts } from "../../test-support/counting";

interface KeyRecord {
  id: string;
  status: "active" | "revoked";
  expiresAt: number | null;
  rateLimit: { limit: number; windowSeconds: number };
}

type Env = { KEYS: KVNamespace; RATE_LIMITER: DurableObjectNamespace<RateLimiter>; ORIGIN_URL: string };
type Vars = { record: KeyRecord };
type AppEnv = { Bindings: Env; Variables: Vars };

const counters = { requests: 0, kv: { get: 0, put: 0, delete: 0, list: 0 } as KvCounts, limiter: {} as Record<string, number>, origin: 0 };

/**
 * The library's Durable Object, unchanged, with its storage writes counted:
 * put() (one row written in SQLite-backed storage) and setAlarm().
 */
export class RateLimiter extends DurableObjectRateLimiter {
  private writes = { put: 0, setAlarm: 0, alarms: 0, updates: 0 };

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const storage = ctx.storage;
    const writes = this.writes;
    const counted = new Proxy(storage, {
      get(target, property) {
        const value = Reflect.get(target, property);
        if (typeof value !== "function") return value;
        if (property === "put" || property === "setAlarm") {
          return (...args: unknown[]) => {
            writes[property]++;
            return (value as (...a: unknown[]) => unknown).apply(target, args);
          };
        }
        return value.bind(target);
      },
    });
    const countedCtx = new Proxy(ctx, {
      get: (target, property) => {
        if (property === "storage") return counted;
        const value = Reflect.get(target, property);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    (this as unknown as { ctx: DurableObjectState }).ctx = countedCtx;
  }

  override async update(delta: number, windowMs: number) {
    this.writes.updates++;
    return super.update(delta, windowMs);
  }

  override async alarm() {
    this.writes.alarms++;
    return super.alarm();
  }

  /** Bench only: this instance's counted writes. */
  stats() {
    return { ...this.writes };
  }
}

async function sha256Hex(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  let out = "";
  for (const b of digest) out += b.toString(16).padStart(2, "0");
  return out;
}

const app = new Hono<AppEnv>();

app.use(
  "*",
  bearerAuth<AppEnv>({
    verifyToken: async (token, c) => {
      const kv = countingKv(c.env.KEYS, counters.kv);
      const record = await kv.get<KeyRecord>(`key:${await sha256Hex(token)}`, "json");
      if (record === null || record.status !== "active") return false;
      if (record.expiresAt !== null && record.expiresAt <= Date.now()) return false;
      c.set("record", record);
      return true;
    },
  }),
);

app.use("*", (c, next) => {
  const record = c.get("record");
  return rateLimiter<AppEnv>({
    windowMs: record.rateLimit.windowSeconds * 1000,
    limit: record.rateLimit.limit,
    standardHeaders: "draft-6",
    keyGenerator: () => record.id,
    store: new DurableObjectStore({ namespace: countingNamespace(c.env.RATE_LIMITER, counters.limiter) }),
  })(c, next);
});

app.all("*", (c) => {
  const url = new URL(c.req.url);
  const headers = new Headers(c.req.raw.headers);
  headers.delete("authorization");
  headers.set("x-key-id", c.get("record").id);
  const hasBody = c.req.method !== "GET" && c.req.method !== "HEAD";
  counters.origin++;
  return fetch(`${c.env.ORIGIN_URL}${url.pathname}${url.search}`, {
    method: c.req.method,
    headers,
    body: hasBody ? c.req.raw.body : null,
    redirect: "manual",
  });
});

export default {
  async fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
    const path = new URL(request.url).pathname;
    if (path === "/__bench/counters") return Response.json(counters);
    if (path === "/__bench/limiters" && request.method === "POST") {
      // The limiter objects' counted writes, for the given key ids (store prefix "hrl:").
      const ids = (await request.json()) as string[];
      const stats = await Promise.all(ids.map((id) => env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName(`hrl:${id}`)).stats()));
      return Response.json(stats);
    }
    if (path === "/__bench/limiter-wall" && request.method === "POST") {
      // Wall time of one limiter update and of its window's alarm, seen from here (sequential, a fresh limiter).
      const stub = env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName(`hrl:wall-${crypto.randomUUID()}`));
      const times = 5;
      let t = Date.now();
      for (let i = 0; i < times; i++) await stub.update(1, 60_000);
      const updateMs = (Date.now() - t) / times;
      t = Date.now();
      // Its alarm only calls reset() ('alarm' itself cannot be called over RPC).
      await stub.reset();
      return Response.json({ updateMs, alarmMs: Date.now() - t });
    }
    counters.requests++;
    return app.fetch(request, env, ctx);
  },
};
