/**
 * The floor: what Keyward's design costs with none of Keyward's logic. Same
 * topology as Keyward (a Hono Worker, the same KV record behind the same kind of
 * isolate cache, one RPC per request to a Durable Object per key, then the
 * origin), but the object is empty and answers a constant verdict, and nothing
 * is parsed, validated, signed or timed. Keyward's ratio to this is what its own
 * code costs on top of the design (docs/performance.md).
 */
import { DurableObject } from "cloudflare:workers";
import { Hono } from "hono";
import { countingNamespace } from "../../test-support/counting";
import { countWake, storageCounts } from "./storage-counts";

export { DurableFloorGuard } from "./durable-floor";

// FLOOR_GUARD is FloorGuard, or DurableFloorGuard (durable-floor.ts) in the durable floor's service: the same check.
type Env = { KEYS: KVNamespace; FLOOR_GUARD: DurableObjectNamespace<FloorGuard>; ORIGIN_URL: string; FLOOR_PAYLOAD?: string; FLOOR_NOGUARD?: string };

interface KeyRecord {
  id: string;
}

/** A per-key Durable Object with no state: the same RPC shape as KeyGuard.check, a constant answer. */
export class FloorGuard extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    countWake(ctx, false); // in memory: no SQL to count
    super(ctx, env);
  }

  check(input: { requestId?: string; consume?: boolean; settings?: unknown }) {
    return input.settings === undefined ? VERDICT : KEYWARD_VERDICT;
  }
}
const VERDICT = { kind: "admitted", limit: 1_000_000_000, windowSeconds: 60, remaining: 1_000_000_000, resetMs: 0 } as const;
const KEYWARD_VERDICT = { ...VERDICT, credits: null };

/**
 * FLOOR_PAYLOAD=keyward (profile only): the RPC carries what Keyward's guard check
 * carries (request id, settings, org, caller) and answers what it answers, to
 * price the payload apart from the guard's work.
 */
function keywardShapedCheck(record: KeyRecord) {
  return {
    requestId: crypto.randomUUID(),
    consume: true,
    cost: 1,
    settings: {
      keyId: record.id,
      version: 1,
      limit: 1_000_000_000,
      windowSeconds: 60,
      expiresAt: null,
      revoked: false,
      revokeAt: null,
      disabled: false,
      credits: null,
    },
    org: "org_bench",
    caller: { country: null, asn: null, colo: null, browser: false, agent: "other" },
  };
}

// As Keyward's key index: sha256(key) -> record, kept 30 s in the isolate.
const CACHE_TTL_MS = 30_000;
const cache = new Map<string, { record: KeyRecord; until: number }>();
const calls: Record<string, number> = {};
let guards: DurableObjectNamespace<FloorGuard> | null = null;

async function sha256Hex(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  let out = "";
  for (const b of digest) out += b.toString(16).padStart(2, "0");
  return out;
}

const app = new Hono<{ Bindings: Env }>();

app.all("*", async (c) => {
  const authorization = c.req.header("authorization") ?? "";
  const hash = await sha256Hex(authorization.slice(7));
  let record = cache.get(hash);
  if (record === undefined || record.until <= Date.now()) {
    const fresh = await c.env.KEYS.get<KeyRecord>(`key:${hash}`, "json");
    if (fresh === null) return c.text("unknown key", 401);
    record = { record: fresh, until: Date.now() + CACHE_TTL_MS };
    cache.set(hash, record);
  }
  // Through the same counting wrapper as Keyward's guard namespace in the bench, so
  // that the instrumentation costs both sides the same.
  guards ??= countingNamespace(c.env.FLOOR_GUARD, calls);
  const guard = guards.get(guards.idFromName(record.record.id));
  // FLOOR_NOGUARD=1 (bench --variants floor-noguard): no Durable Object, the verdict
  // answered here, so that the hop's own cost is the floor minus this.
  if (c.env.FLOOR_NOGUARD !== "1") await guard.check(c.env.FLOOR_PAYLOAD === "keyward" ? keywardShapedCheck(record.record) : { requestId: "", consume: true });
  const url = new URL(c.req.url);
  const headers = new Headers(c.req.raw.headers);
  headers.delete("authorization");
  const hasBody = c.req.method !== "GET" && c.req.method !== "HEAD";
  return fetch(`${c.env.ORIGIN_URL}${url.pathname}${url.search}`, {
    method: c.req.method,
    headers,
    body: hasBody ? c.req.raw.body : null,
    redirect: "manual",
  });
});

/** The bench's counters (wakes of the floor's objects), outside the measured route. */
export default {
  fetch(request: Request, env: Env, ctx: ExecutionContext) {
    if (request.url.endsWith("/__bench/counters")) return Response.json({ guard: calls, storage: storageCounts() });
    return app.fetch(request, env, ctx);
  },
} satisfies ExportedHandler<Env>;
