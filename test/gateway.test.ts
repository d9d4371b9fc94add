import { listDurableObjectIds } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { createLocalJWKSet } from "jose";
import { afterEach, describe, expect, it, vi } from "vitest";
import { generateKey, randomId } from "../src/keys/key-format";
import { kvKeyFor } from "../src/lookup/key-record";
import { verifyKeywardContext } from "../src/origin/verify-context";
import { guardStub, harness, seedKey } from "./support/harness";

type Echo = { method: string; path: string; headers: Record<string, string> };

async function errorOf(res: Response) {
  return (await res.json()) as { code: string; message: string; requestId: string };
}

afterEach(() => vi.restoreAllMocks());

describe("header parsing (threats.md 1-7)", () => {
  it("refuses a request without credentials: 401 MISSING_AUTH_HEADER, a Bearer challenge, no lookup", async () => {
    const h = harness();
    const res = await h.send("/v1/things");
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toBe('Bearer realm="keyward"');
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    const body = await errorOf(res);
    expect(body.code).toBe("MISSING_AUTH_HEADER");
    expect(body.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(h.calls).toMatchObject({ kv: { get: 0 }, guard: [], origin: [] });
  });

  it.each([
    ["an empty Bearer token", "Bearer "],
    ["Basic", "Basic dXNlcjpwYXNz"],
    ["a bare token", generateKey("sk", "live").key],
  ])("answers %s with 401 MISSING_AUTH_HEADER and no lookup", async (_name, authorization) => {
    const h = harness();
    const res = await h.send("/v1/things", { headers: { authorization } });
    expect(res.status).toBe(401);
    expect((await errorOf(res)).code).toBe("MISSING_AUTH_HEADER");
    expect(h.calls).toMatchObject({ kv: { get: 0 }, guard: [], origin: [] });
  });

  it("accepts lower-case bearer with extra spaces around the key", async () => {
    const h = harness();
    const { key } = await seedKey();
    const res = await h.send("/v1/things", { headers: { authorization: `bearer    ${key}  ` } });
    expect(res.status).toBe(200);
  });

  it("answers a tab inside the token with 401 INVALID_API_KEY, never a 500, and no lookup", async () => {
    const h = harness();
    const { key } = await seedKey();
    const res = await h.send("/v1/things", { headers: { "x-api-key": `${key.slice(0, 12)}\t${key.slice(12)}` } });
    expect(res.status).toBe(401);
    expect((await errorOf(res)).code).toBe("INVALID_API_KEY");
    expect(h.calls).toMatchObject({ kv: { get: 0 }, guard: [], origin: [] });
  });

  it("refuses a token over 4 KiB before hashing, and a huge header with a 4xx, never a 500", async () => {
    const h = harness();
    const digest = vi.spyOn(crypto.subtle, "digest");
    const big = await h.send("/v1/things", { headers: { authorization: `Bearer sk_live_${"a".repeat(5000)}` } });
    expect(big.status).toBe(401);
    const huge = await h.send("/v1/things", { headers: { "x-api-key": "a".repeat(60_000), "x-filler": "b".repeat(60_000) } });
    expect(huge.status).toBe(401);
    expect(digest).not.toHaveBeenCalled();
    expect(h.calls).toMatchObject({ kv: { get: 0 }, guard: [], origin: [] });
  });

  it.each([
    ["Authorization vs X-API-Key", (a: string, b: string) => ({ authorization: `Bearer ${a}`, "x-api-key": b })],
    ["two X-API-Key values", (a: string, b: string) => ({ "x-api-key": `${a}, ${b}` })],
  ])("answers two different keys (%s) with 400 INVALID_REQUEST and uses neither", async (_name, headers) => {
    const h = harness();
    const a = await seedKey();
    const b = await seedKey();
    const res = await h.send("/v1/things", { headers: headers(a.key, b.key) });
    expect(res.status).toBe(400);
    expect((await errorOf(res)).code).toBe("INVALID_REQUEST");
    expect(h.calls).toMatchObject({ kv: { get: 0 }, guard: [], origin: [] });
  });

  it("answers two Authorization headers with different keys with 400", async () => {
    const h = harness();
    const headers = new Headers();
    headers.append("authorization", `Bearer ${generateKey("sk", "live").key}`);
    headers.append("authorization", `Bearer ${generateKey("sk", "live").key}`);
    const res = await h.send("/v1/things", { headers });
    expect(res.status).toBe(400);
    expect(h.calls).toMatchObject({ kv: { get: 0 }, guard: [], origin: [] });
  });

  it("never reads a key from the query string", async () => {
    const h = harness();
    const { key } = await seedKey();
    const res = await h.send(`/v1/things?api_key=${key}&key=${key}&access_token=${key}`);
    expect(res.status).toBe(401);
    expect((await errorOf(res)).code).toBe("MISSING_AUTH_HEADER");
    expect(h.calls).toMatchObject({ kv: { get: 0 }, guard: [], origin: [] });
  });
});

describe("key format and lookup (threats.md 8-11, 50)", () => {
  it.each([
    ["39 hex", (k: string) => k.slice(0, -1)],
    ["41 hex", (k: string) => `${k}a`],
    ["upper-case hex", (k: string) => `sk_live_${k.slice(8).toUpperCase()}`],
    ["non-hex", (k: string) => `${k.slice(0, -1)}z`],
    ["wrong type prefix", (k: string) => `pk${k.slice(2)}`],
  ])("answers a malformed key (%s) with 401 INVALID_API_KEY and zero KV reads", async (_name, mangle) => {
    const h = harness();
    const { key } = await seedKey();
    const res = await h.call(mangle(key));
    expect(res.status).toBe(401);
    const body = await errorOf(res);
    expect(body.code).toBe("INVALID_API_KEY");
    expect(body.message).toMatch(/not an API key in Keyward's format/);
    expect(res.headers.get("www-authenticate")).toMatch(/error="invalid_token"/);
    expect(h.calls).toMatchObject({ kv: { get: 0 }, guard: [], origin: [] });
  });

  it("says a key with a bad checksum looks mistyped or truncated, with zero KV reads", async () => {
    const h = harness();
    const { key } = await seedKey();
    const typo = `${key.slice(0, 15)}${key[15] === "0" ? "1" : "0"}${key.slice(16)}`;
    const res = await h.call(typo);
    expect(res.status).toBe(401);
    expect((await errorOf(res)).message).toMatch(/mistyped or truncated/);
    expect(h.calls).toMatchObject({ kv: { get: 0 }, guard: [], origin: [] });
  });

  it("answers a well-formed unknown key with one KV read and no guard call", async () => {
    const h = harness();
    const res = await h.call(generateKey("sk", "live").key);
    expect(res.status).toBe(401);
    expect((await errorOf(res)).message).toMatch(/not known/);
    expect(h.calls).toMatchObject({ kv: { get: 1 }, guard: [], origin: [] });
  });

  it("counts binding calls: admitted = 1 guard RPC and 1 KV read, then 0 KV reads on an isolate cache hit", async () => {
    const h = harness();
    const { key } = await seedKey();
    expect((await h.call(key)).status).toBe(200);
    expect(h.calls.kv.get).toBe(1);
    expect(h.calls.guard).toEqual(["check"]);
    expect((await h.call(key)).status).toBe(200);
    expect(h.calls.kv.get).toBe(1);
    expect(h.calls.guard).toEqual(["check", "check"]);
    expect(h.calls.origin).toHaveLength(2);
  });

  it("reads KV again once the isolate cache entry has expired", async () => {
    let now = Date.now();
    const h = harness({ now: () => now, vars: { CACHE_TTL_SECONDS: "5" } });
    const { key } = await seedKey();
    await h.call(key);
    now += 5_001;
    await h.call(key);
    expect(h.calls.kv.get).toBe(2);
  });

  it("survives 10,000 random well-formed keys: one KV read each at most, no Durable Object created", async () => {
    const h = harness();
    const before = (await listDurableObjectIds(env.KEY_GUARD)).length;
    for (let batch = 0; batch < 100; batch++) {
      const statuses = await Promise.all(Array.from({ length: 100 }, () => h.call(generateKey("sk", "live").key).then((r) => r.status)));
      expect(new Set(statuses)).toEqual(new Set([401]));
    }
    expect(h.calls.kv.get).toBeLessThanOrEqual(10_000);
    expect(h.calls.guard).toEqual([]);
    expect((await listDurableObjectIds(env.KEY_GUARD)).length).toBe(before);
  }, 120_000);

  it("never puts a key or its hash in a response body, header or log line", async () => {
    const consoleLines: string[] = [];
    for (const level of ["log", "info", "warn", "error", "debug"] as const) {
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => void consoleLines.push(args.map(String).join(" ")));
    }
    const h = harness();
    const good = await seedKey({ limit: 1 });
    const revoked = await seedKey({ status: "revoked" });
    const unknown = generateKey("sk", "live").key;
    const typo = `${good.key.slice(0, -1)}${good.key.at(-1) === "0" ? "1" : "0"}`;
    const seen: string[] = [];
    for (const [key, path] of [
      [good.key, "/ok"],
      [good.key, "/limited"],
      [revoked.key, "/revoked"],
      [unknown, "/unknown"],
      [typo, "/typo"],
      [`${good.key}\t`, "/tab"],
    ] as const) {
      const res = await h.call(key, path);
      seen.push(JSON.stringify([...res.headers]), await res.text());
    }
    const haystack = [...seen, ...h.logs, ...consoleLines].join("\n");
    for (const secret of [good.key, good.hash, revoked.key, revoked.hash, unknown, typo]) {
      expect(haystack).not.toContain(secret);
    }
    expect(haystack).not.toContain(good.key.slice(8));
  });
});

describe("KV and guard faults: fail closed (threats.md 12-16)", () => {
  const failingKv = (get: () => Promise<unknown>) => ({ get, put: async () => {} }) as unknown as KVNamespace;

  it("answers 503 AUTH_BACKEND_UNAVAILABLE with Retry-After when KV throws, and does not proxy", async () => {
    const h = harness({ kv: failingKv(() => Promise.reject(new Error("KV exploded"))) });
    const res = await h.call(generateKey("sk", "live").key);
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("1");
    expect((await errorOf(res)).code).toBe("AUTH_BACKEND_UNAVAILABLE");
    expect(h.calls.origin).toHaveLength(0);
  });

  it("answers 503 when KV does not answer within its timeout", async () => {
    const h = harness({ kv: failingKv(() => new Promise(() => {})), vars: { KV_TIMEOUT_MS: "30" } });
    const res = await h.call(generateKey("sk", "live").key);
    expect(res.status).toBe(503);
    expect(h.calls.origin).toHaveLength(0);
  });

  it("answers 503 with a generic body for a corrupt KV record, and logs no content", async () => {
    const h = harness();
    const { key, hash } = await seedKey();
    await env.KEYS.put(kvKeyFor(hash), JSON.stringify({ v: 1, id: "key_x", org: "evil", status: "active" }));
    const res = await h.call(key);
    expect(res.status).toBe(503);
    const text = await res.text();
    expect(text).not.toMatch(/evil|key_x|issues|zod/i);
    expect(h.logs.join("\n")).not.toMatch(/evil|key_x/);
    expect(h.calls.origin).toHaveLength(0);
  });

  it("retries a retryable guard error once on a fresh stub and succeeds", async () => {
    const h = harness();
    const { key } = await seedKey();
    h.faults.push({ retryable: true });
    const res = await h.call(key);
    expect(res.status).toBe(200);
    expect(h.calls.guard).toEqual(["check", "check"]);
  });

  it("gives up after one retry with 503, never proxying", async () => {
    const h = harness();
    const { key } = await seedKey();
    h.faults.push({ retryable: true }, { retryable: true });
    const res = await h.call(key);
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).not.toBeNull();
    expect(h.calls.guard).toEqual(["check", "check"]);
    expect(h.calls.origin).toHaveLength(0);
  });

  it("does not consume quota twice when the reply of an admitted request is lost and retried", async () => {
    const h = harness();
    const { key, record } = await seedKey({ limit: 5 });
    h.faults.push({ retryable: true, afterCall: true });
    const res = await h.call(key);
    expect(res.status).toBe(200);
    expect(res.headers.get("ratelimit")).toBe('"default";r=4;t=60');
    const status = await guardStub(record.id).describe({
      keyId: record.id,
      version: 1,
      limit: 5,
      windowSeconds: 60,
      expiresAt: null,
      revoked: false,
      revokeAt: null,
    });
    expect(status.inWindow).toBe(1);
  });

  it("answers an overloaded guard with 503 and Retry-After, without retrying", async () => {
    const h = harness();
    const { key } = await seedKey();
    h.faults.push({ overloaded: true, retryable: false });
    const res = await h.call(key);
    expect(res.status).toBe(503);
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(h.calls.guard).toEqual(["check"]);
    expect(h.calls.origin).toHaveLength(0);
  });

  it("answers 503 when the guard hangs past its timeout", async () => {
    const h = harness({ vars: { GUARD_TIMEOUT_MS: "50" } });
    const { key } = await seedKey();
    h.faults.push({ hang: true });
    const res = await h.call(key);
    expect(res.status).toBe(503);
    expect(h.calls.origin).toHaveLength(0);
  });

  it("refuses a key the guard has revoked while KV still says active", async () => {
    const h = harness();
    const { key, record } = await seedKey();
    expect((await h.call(key)).status).toBe(200);
    await guardStub(record.id).revoke({
      settings: { keyId: record.id, version: 2, limit: 60, windowSeconds: 60, expiresAt: null, revoked: false, revokeAt: null },
      at: null,
    });
    const res = await h.call(key);
    expect(res.status).toBe(403);
    expect((await errorOf(res)).code).toBe("KEY_REVOKED");
    expect(h.calls.origin).toHaveLength(1);
  });

  it("refuses a key KV says is revoked even though its guard says active, without asking the guard", async () => {
    const h = harness();
    const { key } = await seedKey({ status: "revoked", version: 2 });
    const res = await h.call(key);
    expect(res.status).toBe(403);
    expect((await errorOf(res)).code).toBe("KEY_REVOKED");
    // No verdict is asked for; the refusal is only counted, by one deferred note (usage).
    expect(h.calls.guard).toEqual(["note"]);
    expect(h.calls.origin).toHaveLength(0);
  });

  it("answers an expired key with 403 KEY_EXPIRED", async () => {
    const h = harness();
    const { key } = await seedKey({ expiresAt: Date.now() - 1 });
    const res = await h.call(key);
    expect(res.status).toBe(403);
    expect((await errorOf(res)).code).toBe("KEY_EXPIRED");
    expect(h.calls.origin).toHaveLength(0);
  });
});

describe("rate limiting through the gateway (threats.md 22-24, 27, 29, 49)", () => {
  it("admits 60 in 60 s and answers the 61st with 429 and every header the contract names, without calling the origin", async () => {
    const h = harness();
    const { key } = await seedKey();
    for (let i = 0; i < 60; i++) {
      const res = await h.call(key);
      expect(res.status).toBe(200);
      expect(res.headers.get("ratelimit-policy")).toBe('"default";q=60;w=60');
      expect(res.headers.get("ratelimit")).toMatch(new RegExp(`^"default";r=${59 - i};t=\\d+$`));
    }
    const res = await h.call(key);
    expect(res.status).toBe(429);
    expect((await errorOf(res)).code).toBe("RATE_LIMITED");
    const retryAfter = Number(res.headers.get("retry-after"));
    expect(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60).toBe(true);
    expect(res.headers.get("ratelimit-policy")).toBe('"default";q=60;w=60');
    expect(res.headers.get("ratelimit")).toMatch(/^"default";r=0;t=\d+$/);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(h.calls.origin).toHaveLength(60);
  });

  it("admits exactly 60 of 200 concurrent requests on one key", async () => {
    const h = harness();
    const { key } = await seedKey();
    const statuses = await Promise.all(Array.from({ length: 200 }, () => h.call(key).then((r) => r.status)));
    expect(statuses.filter((s) => s === 200)).toHaveLength(60);
    expect(statuses.filter((s) => s === 429)).toHaveLength(140);
    expect(h.calls.origin).toHaveLength(60);
  });

  it("answers a revoked key with an exhausted quota 403, not 429, and consumes nothing", async () => {
    const h = harness();
    const { key, record } = await seedKey({ limit: 2 });
    await h.call(key);
    await h.call(key);
    expect((await h.call(key)).status).toBe(429);
    const settings = { keyId: record.id, version: 2, limit: 2, windowSeconds: 60, expiresAt: null, revoked: false, revokeAt: null };
    await guardStub(record.id).revoke({ settings, at: null });
    const res = await h.call(key);
    expect(res.status).toBe(403);
    expect((await errorOf(res)).code).toBe("KEY_REVOKED");
    const status = await guardStub(record.id).describe(settings);
    expect(status.admitted).toBe(2);
    expect(status.refused).toBe(1);
  });

  it("keeps key A's exhaustion away from key B, and shares one window across both headers", async () => {
    const h = harness();
    const a = await seedKey({ limit: 2 });
    const b = await seedKey({ limit: 2 });
    expect((await h.send("/x", { headers: { authorization: `Bearer ${a.key}` } })).status).toBe(200);
    expect((await h.send("/x", { headers: { "x-api-key": a.key } })).status).toBe(200);
    expect((await h.send("/x", { headers: { "X-API-Key": a.key, authorization: `Bearer ${a.key}` } })).status).toBe(429);
    expect((await h.call(b.key)).status).toBe(200);
  });

  it("refuses everything at a limit of 0", async () => {
    const h = harness();
    const { key } = await seedKey({ limit: 0 });
    for (let i = 0; i < 3; i++) expect((await h.call(key)).status).toBe(429);
    expect(h.calls.origin).toHaveLength(0);
  });

  it("cannot be moved to another window by X-Forwarded-For or CF-Connecting-IP", async () => {
    const h = harness();
    const { key } = await seedKey({ limit: 3 });
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await h.call(key, "/x", { headers: { "x-forwarded-for": `10.0.0.${i}`, "cf-connecting-ip": `192.0.2.${i}` } });
      statuses.push(res.status);
    }
    expect(statuses).toEqual([200, 200, 200, 429, 429, 429]);
  });
});

describe("origin (threats.md 46-48, 51)", () => {
  it.each([500, 503])("passes an origin %i through unchanged", async (status) => {
    const h = harness({ origin: () => new Response("origin says no", { status, headers: { "x-origin": "1", "content-type": "text/plain" } }) });
    const { key } = await seedKey();
    const res = await h.call(key);
    expect(res.status).toBe(status);
    expect(await res.text()).toBe("origin says no");
    expect(res.headers.get("x-origin")).toBe("1");
    expect(res.headers.get("content-type")).toBe("text/plain");
  });

  it("answers 502 ORIGIN_UNAVAILABLE when the origin refuses the connection", async () => {
    const h = harness({ origin: () => Promise.reject(new TypeError("connection refused")) });
    const { key } = await seedKey();
    const res = await h.call(key);
    expect(res.status).toBe(502);
    expect((await errorOf(res)).code).toBe("ORIGIN_UNAVAILABLE");
  });

  it("answers 504 ORIGIN_TIMEOUT within the configured timeout when the origin hangs", async () => {
    const h = harness({
      vars: { ORIGIN_TIMEOUT_MS: "100" },
      origin: (request) => new Promise((_, reject) => request.signal.addEventListener("abort", () => reject(new Error("aborted")))),
    });
    const { key } = await seedKey();
    const started = Date.now();
    const res = await h.call(key);
    expect(res.status).toBe(504);
    expect((await errorOf(res)).code).toBe("ORIGIN_TIMEOUT");
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it("forwards method, path, query and body, but never a consumed credential or a client X-Keyward-* header", async () => {
    const h = harness();
    const { key, record } = await seedKey();
    const headers = new Headers({ authorization: `Bearer ${key}`, "x-api-key": key, "content-type": "application/json", "x-custom": "kept" });
    headers.append("X-Keyward-Org", "org_evil");
    headers.append("x-keyward-org", "org_evil2");
    headers.append("X-KEYWARD-USER", "admin");
    headers.append("x-keyward-context", "forged");
    const res = await h.send("/v1/things/42?expand=1", { method: "POST", headers, body: JSON.stringify({ a: 1 }) });
    expect(res.status).toBe(200);
    const seen = (await res.json()) as Echo;
    expect(seen.method).toBe("POST");
    expect(seen.path).toBe("/v1/things/42?expand=1");
    expect(seen.headers.authorization).toBeUndefined();
    expect(seen.headers["x-api-key"]).toBeUndefined();
    expect(seen.headers["x-custom"]).toBe("kept");
    expect(seen.headers["x-keyward-org"]).toBe(record.org);
    expect(seen.headers["x-keyward-key-id"]).toBe(record.id);
    expect(seen.headers["x-keyward-environment"]).toBe("live");
    expect(seen.headers["x-keyward-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
    expect(seen.headers["x-keyward-user"]).toBeUndefined();
    expect(seen.headers["x-keyward-context"]).not.toBe("forged");
    expect(await (h.calls.origin[0] as Request).clone().text()).toBe('{"a":1}');
  });

  it("routes test keys to ORIGIN_URL_TEST", async () => {
    const h = harness({ vars: { ORIGIN_URL_TEST: "http://sandbox.test" } });
    const live = await seedKey();
    const test = await seedKey({ environment: "test" });
    await h.call(live.key);
    await h.call(test.key);
    expect(h.calls.origin.map((r) => new URL(r.url).host)).toEqual(["origin.test", "sandbox.test"]);
  });

  it("signs X-Keyward-Context so the origin can verify it against the JWKS, bound to method and path", async () => {
    const h = harness();
    const { key, record } = await seedKey();
    await h.call(key, "/v1/orders/7", { method: "DELETE" });
    const forwarded = h.calls.origin[0] as Request;
    const jwks = createLocalJWKSet(await (await h.send("/_keyward/.well-known/jwks.json")).json());
    const who = await verifyKeywardContext(forwarded, { jwks });
    expect(who).toMatchObject({ org: record.org, keyId: record.id, environment: "live", user: null });

    const token = forwarded.headers.get("x-keyward-context") as string;
    const [head, payload, sig] = token.split(".") as [string, string, string];
    const claims = JSON.parse(atob(payload.replace(/-/g, "+").replace(/_/g, "/")));
    const forged = btoa(JSON.stringify({ ...claims, org: "org_evil" }))
      .replace(/=+$/, "")
      .replace(/\+/g, "-")
      .replace(/\//g, "_");
    const tampered = new Request(forwarded.url, { method: "DELETE", headers: { "x-keyward-context": `${head}.${forged}.${sig}` } });
    await expect(verifyKeywardContext(tampered, { jwks })).rejects.toThrow(/not valid/);
    await expect(verifyKeywardContext(forwarded, { jwks, currentDate: new Date(Date.now() + 5 * 60_000) })).rejects.toThrow(/not valid/);
    const replayGet = new Request(forwarded.url, { method: "GET", headers: { "x-keyward-context": token } });
    await expect(verifyKeywardContext(replayGet, { jwks })).rejects.toThrow(/another method or path/);
    const replayPath = new Request("http://origin.test/v1/orders/8", { method: "DELETE", headers: { "x-keyward-context": token } });
    await expect(verifyKeywardContext(replayPath, { jwks })).rejects.toThrow(/another method or path/);
    await expect(verifyKeywardContext(new Request("http://origin.test/"), { jwks })).rejects.toThrow(/did not come through Keyward/);
  });

  it("forwards under an origin's path prefix and binds the context token to the path the origin receives", async () => {
    const h = harness({ vars: { ORIGIN_URL: "http://origin.test/api/", ORIGIN_URL_TEST: "http://sandbox.test/v2" } });
    const live = await seedKey();
    const test = await seedKey({ environment: "test" });
    await h.call(live.key, "/things/1?x=1");
    await h.call(test.key, "/things/2");
    const [first, second] = h.calls.origin as [Request, Request];
    expect(first.url).toBe("http://origin.test/api/things/1?x=1");
    expect(second.url).toBe("http://sandbox.test/v2/things/2");
    const jwks = createLocalJWKSet(await (await h.send("/_keyward/.well-known/jwks.json")).json());
    for (const forwarded of [first, second]) await expect(verifyKeywardContext(forwarded, { jwks })).resolves.toMatchObject({ user: null });
  });

  it("refuses a large body with an invalid key without reading the body", async () => {
    const h = harness();
    let pulled = 0;
    const body = new ReadableStream({
      pull(controller) {
        pulled++;
        controller.enqueue(new Uint8Array(1 << 20));
      },
    });
    const res = await h.send("/upload", { method: "POST", headers: { authorization: `Bearer ${generateKey("sk", "live").key}` }, body });
    expect(res.status).toBe(401);
    // The stream's first pull may happen when the request is built; nothing more is read.
    expect(pulled).toBeLessThanOrEqual(1);
    expect(h.calls.origin).toHaveLength(0);
  });

  it("never proxies the reserved /_keyward/ prefix", async () => {
    const h = harness();
    const { key } = await seedKey();
    const res = await h.call(key, "/_keyward/anything");
    expect(res.status).toBe(404);
    expect(h.calls.origin).toHaveLength(0);
  });
});

describe("identifiers", () => {
  it("uses random public key ids", () => {
    expect(randomId("key")).toMatch(/^key_[0-9a-f]{20}$/);
  });
});

describe("scheduled revocation", () => {
  it("refuses a key whose scheduled revocation time has passed without asking the guard", async () => {
    const h = harness();
    const { key, hash, record } = await seedKey();
    await env.KEYS.put(kvKeyFor(hash), JSON.stringify({ ...record, revokeAt: Date.now() - 1, version: 2 }));
    const res = await h.call(key);
    expect(res.status).toBe(403);
    expect((await errorOf(res)).code).toBe("KEY_REVOKED");
    // No verdict is asked for; the refusal is only counted, by one deferred note (usage).
    expect(h.calls.guard).toEqual(["note"]);
  });
});
