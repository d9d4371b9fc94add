import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { createLocalJWKSet } from "jose";
import { describe, expect, it } from "vitest";
import { loadConfig, SERVICE_ORIGIN_URL } from "../src/config";
import worker from "../src/index";
import { verifyKeywardContext } from "../src/origin/verify-context";
import { harness, seedKey } from "./support/harness";

/** What the auxiliary origin Worker (vitest.config.ts) received. */
interface Echo {
  via: string;
  method: string;
  url: string;
  headers: Record<string, string>;
}

/** The request as the origin Worker saw it, for verifyKeywardContext. */
const seenByOrigin = (echo: Echo) => new Request(echo.url, { method: echo.method, headers: echo.headers });

async function jwksOf(h: ReturnType<typeof harness>) {
  return createLocalJWKSet(await (await h.send("/_keyward/.well-known/jwks.json")).json());
}

describe("an origin bound as the ORIGIN service", () => {
  it("receives the request through the binding, never the network, with a context token it verifies as over HTTP", async () => {
    const h = harness({ originService: env.TEST_ORIGIN_SERVICE, vars: { ORIGIN_URL: "" } });
    const { key, record } = await seedKey();
    const res = await h.call(key, "/v1/things?page=2", { method: "POST", body: "{}" });
    expect(res.status).toBe(200);
    expect(res.headers.get("RateLimit-Policy")).toBe('"default";q=60;w=60');
    const echo = (await res.json()) as Echo;
    expect(echo.via).toBe("service");
    expect(echo.url).toBe(`${SERVICE_ORIGIN_URL}/v1/things?page=2`);
    expect(echo.headers.authorization).toBeUndefined();
    expect(echo.headers["x-keyward-key-id"]).toBe(record.id);
    expect(h.calls.service).toHaveLength(1);
    expect(h.calls.origin).toHaveLength(0);
    expect(h.calls.guard).toEqual(["check"]);
    expect(h.calls.kv.get).toBe(1);
    await expect(verifyKeywardContext(seenByOrigin(echo), { jwks: await jwksOf(h) })).resolves.toMatchObject({ keyId: record.id, org: record.org });
    // Bound to what the origin saw: the same token on another path does not verify.
    const moved = new Request(`${SERVICE_ORIGIN_URL}/v1/other`, { method: "POST", headers: echo.headers });
    await expect(verifyKeywardContext(moved, { jwks: await jwksOf(h) })).rejects.toThrow(/another method or path/);
  });

  it("shows the origin ORIGIN_URL when it is set, path prefix included, and binds the token to that path", async () => {
    const h = harness({ originService: env.TEST_ORIGIN_SERVICE, vars: { ORIGIN_URL: "https://api.internal/base/" } });
    const { key } = await seedKey();
    const echo = (await (await h.call(key, "/v1/things")).json()) as Echo;
    expect(echo.url).toBe("https://api.internal/base/v1/things");
    expect(h.calls.origin).toHaveLength(0);
    await expect(verifyKeywardContext(seenByOrigin(echo), { jwks: await jwksOf(h) })).resolves.toMatchObject({ environment: "live" });
  });

  it("sends test keys over the network when ORIGIN_URL_TEST names a separate sandbox, and live keys through the binding", async () => {
    const h = harness({ originService: env.TEST_ORIGIN_SERVICE, vars: { ORIGIN_URL_TEST: "http://sandbox.test/v2" } });
    const live = await seedKey();
    const test = await seedKey({ environment: "test" });
    expect((await h.call(test.key, "/things")).status).toBe(200);
    expect(h.calls.origin.map((r) => r.url)).toEqual(["http://sandbox.test/v2/things"]);
    expect(h.calls.service).toHaveLength(0);
    expect((await h.call(live.key, "/things")).status).toBe(200);
    expect(h.calls.service).toHaveLength(1);
    expect(h.calls.origin).toHaveLength(1);
  });

  it("sends test keys through the binding too when no ORIGIN_URL_TEST is set", async () => {
    const h = harness({ originService: env.TEST_ORIGIN_SERVICE });
    const test = await seedKey({ environment: "test" });
    expect((await h.call(test.key)).status).toBe(200);
    expect(h.calls.service).toHaveLength(1);
    expect(h.calls.origin).toHaveLength(0);
  });

  it("never calls the origin Worker on a refusal", async () => {
    const h = harness({ originService: env.TEST_ORIGIN_SERVICE });
    const { key } = await seedKey({ limit: 1 });
    expect((await h.call(key)).status).toBe(200);
    expect((await h.call(key)).status).toBe(429);
    expect((await h.call("sk_live_00000000000000000000000000000000deadbeef")).status).toBe(401);
    expect((await h.send("/v1/things")).status).toBe(401);
    expect(h.calls.service).toHaveLength(1);
    expect(h.calls.origin).toHaveLength(0);
  });

  it("is wired by the Worker entry from env.ORIGIN, and ORIGIN_URL is then optional", async () => {
    const { key } = await seedKey();
    const ctx = createExecutionContext();
    const res = await worker.fetch(
      new Request("https://keyward.test/v1/things", { headers: { authorization: `Bearer ${key}` } }),
      { ...env, ORIGIN: env.TEST_ORIGIN_SERVICE, ORIGIN_URL: undefined },
      ctx,
    );
    await waitOnExecutionContext(ctx);
    expect(res.status).toBe(200);
    expect(((await res.json()) as Echo).via).toBe("service");
  });
});

describe("ORIGIN configuration", () => {
  it("refuses an ORIGIN that is not a service binding, naming it", () => {
    expect(() => loadConfig({ ...env, ORIGIN: "https://api.example.com" })).toThrow(/ORIGIN must be a service binding/);
  });

  it("still requires ORIGIN_URL when no ORIGIN service is bound", () => {
    expect(() => loadConfig({ ...env, ORIGIN_URL: "" })).toThrow(/ORIGIN_URL is required/);
  });

  it("takes ORIGIN_URL as the URL the origin Worker sees, else a name that never resolves", () => {
    expect(loadConfig({ ...env, ORIGIN: env.TEST_ORIGIN_SERVICE, ORIGIN_URL: "" }).originUrl).toBe(SERVICE_ORIGIN_URL);
    expect(loadConfig({ ...env, ORIGIN: env.TEST_ORIGIN_SERVICE, ORIGIN_URL: "https://api.internal/x" }).originUrl).toBe("https://api.internal/x");
  });
});
