import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../src/config";
import { adminHeaders, newOrg } from "./support/admin-client";
import { harness } from "./support/harness";

const DASHBOARD = "https://dashboard.example.com";
const listed = () => harness({ vars: { ADMIN_CORS_ORIGINS: ` ${DASHBOARD}, http://localhost:5173 ` } });
const preflight = (origin: string, path = "/_keyward/v1/orgs/org_a/keys") => ({
  path,
  init: { method: "OPTIONS", headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "authorization, content-type" } },
});

describe("CORS for the admin API (ADMIN_CORS_ORIGINS)", () => {
  it("answers a listed origin's preflight with its own origin, the methods and headers, never credentials", async () => {
    const h = listed();
    const { path, init } = preflight(DASHBOARD);
    const res = await h.send(path, init);
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe(DASHBOARD);
    expect(res.headers.get("access-control-allow-methods")).toContain("POST");
    expect(res.headers.get("access-control-allow-headers")?.toLowerCase()).toBe("authorization, content-type");
    expect(res.headers.get("access-control-allow-credentials")).toBeNull();
    expect(res.headers.get("vary")).toMatch(/\bOrigin\b/);
    expect(h.calls.origin).toHaveLength(0);
  });

  it("refuses another origin's preflight with 400 and no Access-Control-Allow-* header", async () => {
    const h = listed();
    for (const origin of ["https://evil.example.com", "https://dashboard.example.com.evil.test", "http://dashboard.example.com", "null"]) {
      const { path, init } = preflight(origin);
      const res = await h.send(path, init);
      expect(res.status, origin).toBe(400);
      expect([...res.headers.keys()].filter((name) => name.startsWith("access-control-"))).toEqual([]);
      expect(((await res.json()) as { message: string }).message).toMatch(/add it to ADMIN_CORS_ORIGINS/);
    }
    expect(h.calls.origin).toHaveLength(0);
  });

  it("lets a listed origin read the answer to a real call (errors too), with Vary: Origin", async () => {
    const h = listed();
    const org = newOrg();
    const res = await h.send(`/_keyward/v1/orgs/${org}/keys`, { headers: { ...(await adminHeaders(org)), origin: DASHBOARD } });
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).toBe(DASHBOARD);
    expect(res.headers.get("access-control-expose-headers")).toContain("X-Keyward-Request-Id");
    expect(res.headers.get("vary")).toMatch(/\bOrigin\b/);
    const refused = await h.send(`/_keyward/v1/orgs/${org}/keys`, { headers: { origin: DASHBOARD } });
    expect(refused.status).toBe(401);
    expect(refused.headers.get("access-control-allow-origin")).toBe(DASHBOARD);
  });

  it("gives another origin's call no Access-Control-Allow-Origin, only Vary: Origin", async () => {
    const h = listed();
    const org = newOrg();
    const res = await h.send(`/_keyward/v1/orgs/${org}/keys`, { headers: { ...(await adminHeaders(org)), origin: "https://evil.example.com" } });
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
    expect(res.headers.get("vary")).toMatch(/\bOrigin\b/);
  });

  it("adds no CORS header anywhere when no origin is listed (the default)", async () => {
    const h = harness();
    const { path, init } = preflight(DASHBOARD);
    const res = await h.send(path, init);
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
    expect(res.status).toBe(405);
  });

  it("leaves the gateway's own requests alone", async () => {
    const h = listed();
    const res = await h.send("/v1/things", { headers: { origin: DASHBOARD } });
    expect(res.status).toBe(401);
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
  });

  it.each([
    ["a wildcard", "*", /not "\*": a wildcard would let any site/],
    ["a path", "https://dashboard.example.com/app", /write the origin only/],
    ["not a URL", "dashboard.example.com", /is not an origin/],
    ["plain http in production", "http://dashboard.example.com", /must be https in production/],
  ])("refuses %s in ADMIN_CORS_ORIGINS at start-up, naming the variable", (_name, value, message) => {
    const production = { ...env, KEYWARD_ENV: "production", KEYWARD_DEV_JWT_SECRET: "", KEYWARD_OPERATOR_TOKEN: "ab".repeat(20) };
    const signingKey = JSON.stringify({ ...JSON.parse(env.KEYWARD_SIGNING_KEY as string), kid: "k1" });
    const vars = value.startsWith("http://") ? { ...production, KEYWARD_SIGNING_KEY: signingKey } : env;
    expect(() => loadConfig({ ...vars, ADMIN_CORS_ORIGINS: value })).toThrow(/ADMIN_CORS_ORIGINS/);
    expect(() => loadConfig({ ...vars, ADMIN_CORS_ORIGINS: value })).toThrow(message);
  });

  it("takes http origins in development, and an empty list", () => {
    expect(loadConfig({ ...env, ADMIN_CORS_ORIGINS: "http://localhost:5173,https://a.example.com/" }).adminCorsOrigins).toEqual([
      "http://localhost:5173",
      "https://a.example.com",
    ]);
    expect(loadConfig({ ...env, ADMIN_CORS_ORIGINS: "" }).adminCorsOrigins).toEqual([]);
  });
});
