import { env } from "cloudflare:workers";
import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { type AdminApps, keywardRoutes } from "../src/app";
import { loadConfig } from "../src/config";
import { KeywardError } from "../src/errors";
import type { KeywardEnv } from "../src/http/keyward-env";
import { contextSigner } from "../src/identity/context-token";
import { keyParser } from "../src/keys/key-format";
import { silentLogger } from "../src/log";
import { harness, seedKey } from "./support/harness";

/** Keyward with a counted admin loader; the request path's dependencies never answer (no key is known). */
function withAdmin(load: () => Promise<AdminApps>) {
  const config = loadConfig(env);
  return keywardRoutes({
    config,
    parseKey: keyParser(config.keyTypePrefix),
    keys: { get: async () => null, put: async () => {} },
    guards: {} as never,
    signer: contextSigner({ privateJwk: config.signingKey, issuer: "keyward", ttlSeconds: 60, now: Date.now }),
    authorize: async () => ({ user: null, permissions: null, cost: 1, metering: null }),
    fetch: () => Promise.reject(new Error("no origin in this test")),
    now: Date.now,
    log: silentLogger,
    admin: load,
  });
}

function adminRoutes(): AdminApps {
  const api = new Hono<KeywardEnv>();
  api.get("/ping", (c) => c.json({ requestId: c.get("requestId") }));
  api.get("/refuse", () => {
    throw new KeywardError("NOT_FOUND", "No such key in this organisation.");
  });
  return { api };
}

describe("the admin API is loaded on first use", () => {
  it("is not loaded by proxied requests, then loaded once by the first admin request", async () => {
    let loads = 0;
    const app = withAdmin(async () => {
      loads++;
      return adminRoutes();
    });
    expect((await app.request("/v1/things", { headers: { authorization: "Bearer sk_live_x" } })).status).toBe(401);
    expect((await app.request("/_keyward/health")).status).toBe(200);
    expect(loads).toBe(0);
    expect((await app.request("/_keyward/v1/ping")).status).toBe(200);
    expect((await app.request("/_keyward/v1/ping")).status).toBe(200);
    expect(loads).toBe(1);
  });

  it("runs admin routes under the request's own id, and answers their errors in the usual format", async () => {
    const app = withAdmin(async () => adminRoutes());
    const ok = await app.request("/_keyward/v1/ping");
    expect(((await ok.json()) as { requestId: string }).requestId).toMatch(/^[0-9a-f-]{36}$/);
    const refused = await app.request("/_keyward/v1/refuse");
    expect(refused.status).toBe(404);
    const body = (await refused.json()) as { code: string; requestId: string };
    expect(body.code).toBe("NOT_FOUND");
    expect(body.requestId).toBe(refused.headers.get("X-Keyward-Request-Id"));
    const unknown = await app.request("/_keyward/v1/nothing-here");
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { code: string }).code).toBe("NOT_FOUND");
  });

  it("answers 500 when loading fails, and loads again on the next admin request", async () => {
    let loads = 0;
    const app = withAdmin(async () => {
      loads++;
      if (loads === 1) throw new Error("module failed to load");
      return adminRoutes();
    });
    const failed = await app.request("/_keyward/v1/ping");
    expect(failed.status).toBe(500);
    expect(((await failed.json()) as { code: string }).code).toBe("INTERNAL_ERROR");
    expect((await app.request("/_keyward/v1/ping")).status).toBe(200);
    expect(loads).toBe(2);
  });

  it("serves the real admin API and console through the same path", async () => {
    const h = harness();
    const { key } = await seedKey();
    expect((await h.call(key)).status).toBe(200);
    expect((await h.send("/_keyward/v1/orgs/org_acme/keys")).status).toBe(401);
    const page = await h.send("/_keyward/console");
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toMatch(/text\/html/);
    expect((await h.send("/_keyward/console/")).status).toBe(301);
  });
});
