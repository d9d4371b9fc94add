import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import * as adminRoutes from "../src/admin/admin-routes";
import { KeyGuard } from "../src/guard/key-guard";
import { kvKeyFor } from "../src/lookup/key-record";
import { REPORT_DELAY_MS } from "../src/usage/usage-report";
import { guardStub, harness } from "./support/harness";
import { devToken } from "./support/tokens";

type KeyView = { id: string; key?: string; prefix: string; status: string; revokedAt: string | null; lastUsedAt: string | null; rateLimit: { limit: number } };

const ORG = () => `org_${crypto.randomUUID().slice(0, 8)}`;

async function admin(org: string, role = "org:admin") {
  const token = await devToken({ org, role });
  return { authorization: `Bearer ${token}`, "content-type": "application/json" };
}

function setup() {
  const h = harness();
  const api = (path: string, init: RequestInit = {}) => h.send(`/_keyward/v1${path}`, init);
  const operator = { authorization: `Bearer ${env.KEYWARD_OPERATOR_TOKEN}`, "content-type": "application/json" };
  /** A key with credits is a grant of money: the operator creates it (test/money-grants.test.ts). */
  async function create(org: string, body: Record<string, unknown> = { label: "ci" }) {
    const headers = body.credits === undefined ? await admin(org) : operator;
    const res = await api(`/orgs/${org}/keys`, { method: "POST", headers, body: JSON.stringify(body) });
    expect(res.status).toBe(201);
    return (await res.json()) as KeyView & { key: string };
  }
  async function list(org: string) {
    const res = await api(`/orgs/${org}/keys`, { headers: await admin(org) });
    expect(res.status).toBe(200);
    return ((await res.json()) as { keys: KeyView[] }).keys;
  }
  async function audit(org: string) {
    const res = await api(`/orgs/${org}/audit`, { headers: await admin(org) });
    return ((await res.json()) as { events: { action: string; keyId: string; actor: string }[] }).events;
  }
  const revoke = async (org: string, id: string, body: unknown = {}) =>
    api(`/orgs/${org}/keys/${id}/revoke`, { method: "POST", headers: await admin(org), body: JSON.stringify(body) });
  return { h, api, create, list, audit, revoke, operator };
}

describe("key lifecycle through the admin API", () => {
  it("creates a key shown once, lists it at once, and the key works through the gateway", async () => {
    const { h, create, list, api } = setup();
    const org = ORG();
    const created = await create(org, { label: "billing worker", environment: "test", scopes: ["customers:read"] });
    expect(created.key).toMatch(/^sk_test_[0-9a-f]{40}$/);
    expect(created).toMatchObject({
      prefix: created.key.slice(0, 16),
      status: "active",
      rateLimit: { limit: 60, windowSeconds: 60 },
      createdBy: "user:user_1",
    });
    const listed = await list(org);
    expect(listed.map((k) => k.id)).toEqual([created.id]);
    const text = JSON.stringify(listed) + (await (await api(`/orgs/${org}/keys/${created.id}`, { headers: await admin(org) })).text());
    expect(text).not.toContain(created.key);
    expect(text).not.toMatch(/[0-9a-f]{64}/);
    const res = await h.call(created.key);
    expect(res.status).toBe(200);
    // Last use reaches the listing with the guard's next usage report (its alarm), not by asking the guard.
    expect(((await list(org))[0] as KeyView).lastUsedAt).toBeNull();
    await runInDurableObject(guardStub(created.id), (g: KeyGuard) => KeyGuard.hooks(g).runAlarm(Date.now() + REPORT_DELAY_MS));
    const after = (await list(org))[0] as KeyView;
    expect(after.lastUsedAt).not.toBeNull();
  });

  it("revokes before the call returns: the very next request is refused while KV and the isolate cache are stale", async () => {
    const { h, create, revoke, list } = setup();
    const org = ORG();
    const { key, id } = await create(org);
    expect((await h.call(key)).status).toBe(200);
    // Make KV stale again (as another location would see it) after the revoke.
    const hash = [...new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(key)))].map((b) => b.toString(16).padStart(2, "0")).join("");
    const stale = await env.KEYS.get(kvKeyFor(hash));
    const res = await revoke(org, id);
    expect(res.status).toBe(200);
    expect(((await res.json()) as KeyView).status).toBe("revoked");
    await env.KEYS.put(kvKeyFor(hash), stale as string);
    const other = harness(); // another isolate: its own cache, reading the stale KV record
    for (const gateway of [h, other]) {
      const next = await gateway.call(key);
      expect(next.status).toBe(403);
      expect(((await next.json()) as { code: string }).code).toBe("KEY_REVOKED");
    }
    expect(other.calls.origin).toHaveLength(0);
    expect((await list(org))[0]?.status).toBe("revoked");
  });

  it("admits none of 50 in-flight requests after the revoke is acknowledged", async () => {
    const { h, create, revoke } = setup();
    const org = ORG();
    const { key, id } = await create(org);
    await h.call(key);
    let acknowledged = 0;
    const results: { status: number; at: number }[] = [];
    const inflight = Array.from({ length: 50 }, (_, i) =>
      new Promise((r) => setTimeout(r, i % 10)).then(() => h.call(key)).then((r) => results.push({ status: r.status, at: Date.now() })),
    );
    const revoking = revoke(org, id).then((r) => {
      acknowledged = Date.now();
      return r.status;
    });
    await Promise.all([...inflight, revoking]);
    expect(await revoking).toBe(200);
    const after = results.filter((r) => r.at > acknowledged);
    expect(after.every((r) => r.status === 403)).toBe(true);
    expect((await h.call(key)).status).toBe(403);
  });

  it("revokes idempotently: the second call succeeds and changes nothing", async () => {
    const { create, revoke, audit } = setup();
    const org = ORG();
    const { id } = await create(org);
    const first = (await (await revoke(org, id)).json()) as KeyView;
    const second = await revoke(org, id);
    expect(second.status).toBe(200);
    expect(((await second.json()) as KeyView).revokedAt).toBe(first.revokedAt);
    expect((await audit(org)).filter((e) => e.action === "key.revoked")).toHaveLength(1);
  });

  it("answers 404 for revoking an unknown key or another org's key, and changes nothing", async () => {
    const { h, create, revoke, api } = setup();
    const orgA = ORG();
    const orgB = ORG();
    const { id, key } = await create(orgB);
    expect((await revoke(orgA, "key_00000000000000000000")).status).toBe(404);
    const cross = await api(`/orgs/${orgB}/keys/${id}/revoke`, { method: "POST", headers: await admin(orgA), body: "{}" });
    expect(cross.status).toBe(404);
    expect((await api(`/orgs/${orgB}/keys`, { headers: await admin(orgA) })).status).toBe(404);
    expect((await h.call(key)).status).toBe(200);
  });

  it("reports a revocation whose KV write failed, already refuses traffic, and completes on retry", async () => {
    const org = ORG();
    const good = setup();
    const { key, id } = await good.create(org);
    let failPuts = true;
    const flakyKv = {
      get: (...a: unknown[]) => (env.KEYS.get as (...x: unknown[]) => unknown)(...a),
      put: (...a: unknown[]) => (failPuts ? Promise.reject(new Error("KV down")) : (env.KEYS.put as (...x: unknown[]) => unknown)(...a)),
    } as unknown as KVNamespace;
    const flaky = harness({ kv: flakyKv });
    const api = (path: string, init: RequestInit) => flaky.send(`/_keyward/v1${path}`, init);
    const first = await api(`/orgs/${org}/keys/${id}/revoke`, { method: "POST", headers: await admin(org), body: "{}" });
    expect(first.status).toBe(503);
    expect(((await first.json()) as { message: string }).message).toMatch(/already refused.*repeat this call/);
    expect((await good.h.call(key)).status).toBe(403);
    failPuts = false;
    const retry = await api(`/orgs/${org}/keys/${id}/revoke`, { method: "POST", headers: await admin(org), body: "{}" });
    expect(retry.status).toBe(200);
    const hashRecords = await env.KEYS.list({ prefix: "key:" });
    const records = await Promise.all(hashRecords.keys.map((k) => env.KEYS.get(k.name, "json") as Promise<{ id: string; status: string }>));
    expect(records.find((r) => r.id === id)?.status).toBe("revoked");
  });

  it("creates nothing when the KV write of a new key fails", async () => {
    const org = ORG();
    const failingKv = { get: () => Promise.resolve(null), put: () => Promise.reject(new Error("KV down")) } as unknown as KVNamespace;
    const h = harness({ kv: failingKv });
    const res = await h.send(`/_keyward/v1/orgs/${org}/keys`, { method: "POST", headers: await admin(org), body: '{"label":"x"}' });
    expect(res.status).toBe(503);
    expect(await res.text()).not.toMatch(/sk_live_/);
    expect(await setup().list(org)).toEqual([]);
  });

  it("lets the operator change a key's limit, effective on the next request without resetting the window", async () => {
    const { h, create, api, operator, audit } = setup();
    const org = ORG();
    const { key, id } = await create(org);
    for (let i = 0; i < 3; i++) expect((await h.call(key)).status).toBe(200);
    const lower = await api(`/orgs/${org}/keys/${id}/rate-limit`, { method: "PUT", headers: operator, body: JSON.stringify({ limit: 3, windowSeconds: 60 }) });
    expect(lower.status).toBe(200);
    expect(((await lower.json()) as KeyView).rateLimit.limit).toBe(3);
    expect((await h.call(key)).status).toBe(429);
    await api(`/orgs/${org}/keys/${id}/rate-limit`, { method: "PUT", headers: operator, body: JSON.stringify({ limit: 4, windowSeconds: 60 }) });
    expect((await h.call(key)).status).toBe(200);
    expect((await h.call(key)).status).toBe(429);
    expect((await audit(org)).map((e) => e.action)).toEqual(["key.rate_limit_changed", "key.rate_limit_changed", "key.created"]);
  });

  it("schedules a revocation for a rotation grace period and expires keys after expiresAt", async () => {
    const { h, create, revoke } = setup();
    const org = ORG();
    const { key, id } = await create(org);
    const at = new Date(Date.now() + 60_000).toISOString();
    const res = await revoke(org, id, { at });
    expect(((await res.json()) as KeyView & { revokeAt: string }).revokeAt).toBe(at);
    expect((await h.call(key)).status).toBe(200);
    const soon = await create(org, { label: "short", expiresAt: new Date(Date.now() + 300).toISOString() });
    expect((await h.call(soon.key)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 400));
    const expired = await h.call(soon.key);
    expect(expired.status).toBe(403);
    expect(((await expired.json()) as { code: string }).code).toBe("KEY_EXPIRED");
  });

  it("refuses the guard-revoked key on every path while KV still says active", async () => {
    const { h, create } = setup();
    const org = ORG();
    const { key, id } = await create(org);
    await guardStub(id).revoke({
      settings: { keyId: id, version: 2, limit: 60, windowSeconds: 60, expiresAt: null, revoked: false, revokeAt: null },
      at: null,
    });
    const userToken = await devToken({ org, role: "org:member", extra: { permissions: ["customers:read"] } });
    const variants: RequestInit[] = [
      { headers: { authorization: `Bearer ${key}` } },
      { headers: { "x-api-key": key } },
      { headers: { authorization: `Bearer ${key}`, "x-api-key": key } },
      { headers: { "x-api-key": key, authorization: `Bearer ${userToken}` } },
      { headers: { "x-api-key": key, authorization: "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.bad" } },
      { method: "POST", headers: { "x-api-key": key }, body: "{}" },
    ];
    for (const init of variants) {
      const res = await h.send("/v1/anything", init);
      expect(res.status).toBe(403);
      expect(((await res.json()) as { code: string }).code).toBe("KEY_REVOKED");
    }
    expect(h.calls.origin).toHaveLength(0);
  });
});

describe("admin API refusals change nothing (threats.md 41-44)", () => {
  it("answers no credentials 401, an org:member 403, another org's admin 404", async () => {
    const { api, list } = setup();
    const org = ORG();
    const body = JSON.stringify({ label: "x" });
    expect((await api(`/orgs/${org}/keys`, { method: "POST", body })).status).toBe(401);
    const member = await api(`/orgs/${org}/keys`, { method: "POST", headers: await admin(org, "org:member"), body });
    expect(member.status).toBe(403);
    expect(((await member.json()) as { code: string }).code).toBe("INSUFFICIENT_PERMISSIONS");
    expect((await api(`/orgs/${org}/keys`, { method: "POST", headers: await admin(ORG()), body })).status).toBe(404);
    expect(await list(org)).toEqual([]);
  });

  it("lets a member read the org's keys (list and one key) and refuses every change 403, changing nothing", async () => {
    const { api, create, list, audit } = setup();
    const org = ORG();
    const { id, key } = await create(org, { label: "shared", meta: { plan: "free" } });
    const member = await admin(org, "org:member");
    const listed = await api(`/orgs/${org}/keys`, { headers: member });
    expect(listed.status).toBe(200);
    expect(((await listed.json()) as { keys: KeyView[] }).keys.map((k) => k.id)).toEqual([id]);
    const one = await api(`/orgs/${org}/keys/${id}`, { headers: member });
    expect(one.status).toBe(200);
    expect(JSON.stringify(await one.json())).not.toContain(key);
    // Another org's member still learns nothing.
    expect((await api(`/orgs/${org}/keys`, { headers: await admin(ORG(), "org:member") })).status).toBe(404);
    const before = JSON.stringify(await list(org));
    const events = (await audit(org)).length;
    for (const [method, path, body] of [
      ["POST", "/keys", { label: "x" }],
      ["POST", `/keys/${id}/revoke`, {}],
      ["POST", `/keys/${id}/roll`, {}],
      ["POST", `/keys/${id}/disable`, {}],
      ["PATCH", `/keys/${id}`, { label: "renamed" }],
      ["POST", `/keys/${id}/credits`, { operation: "decrement", value: 1 }],
      ["POST", "/keys/revoke-all", { confirm: org }],
    ] as const) {
      const res = await api(`/orgs/${org}${path}`, { method, headers: member, body: JSON.stringify(body) });
      expect(res.status, `${method} ${path}`).toBe(403);
    }
    expect(JSON.stringify(await list(org))).toBe(before);
    expect((await audit(org)).length).toBe(events);
  });

  it("lets the operator create keys in any org, and refuses org admins on rate limits", async () => {
    const { api, create, operator, list } = setup();
    const org = ORG();
    const { id } = await create(org);
    const byOperator = await api(`/orgs/${org}/keys`, { method: "POST", headers: operator, body: '{"label":"first key"}' });
    expect(byOperator.status).toBe(201);
    expect((await list(org)).map((k) => k.id)).toContain(((await byOperator.json()) as KeyView).id);
    expect((await api(`/orgs/${org}/keys/${id}/rate-limit`, { method: "PUT", headers: await admin(org), body: '{"limit":1,"windowSeconds":1}' })).status).toBe(
      403,
    );
    const wrong = await api(`/orgs/${org}/keys/${id}/rate-limit`, { method: "PUT", headers: { authorization: `Bearer ${"x".repeat(40)}` }, body: "{}" });
    expect(wrong.status).toBe(401);
  });

  it.each([
    ["DELETE", "/keys/key_00000000000000000000", "GET, PATCH"],
    ["PUT", "/keys", "GET, POST"],
    ["GET", "/keys/key_00000000000000000000/revoke", "POST"],
    ["POST", "/audit", "GET"],
  ])("answers %s on %s with 405 and Allow: %s", async (method, path, allow) => {
    const { api, list } = setup();
    const org = ORG();
    const res = await api(`/orgs/${org}${path}`, { method, headers: await admin(org) });
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe(allow);
    expect(await list(org)).toEqual([]);
  });

  it.each([
    ["label", { label: 42 }],
    ["label", { label: "x".repeat(101) }],
    ["label", {}],
    ["colour", { label: "ok", colour: "red" }],
    ["environment", { label: "ok", environment: "prod" }],
    ["scopes.0", { label: "ok", scopes: ["has space"] }],
    ["expiresAt", { label: "ok", expiresAt: "tomorrow" }],
    ["expiresAt", { label: "ok", expiresAt: "2001-01-01T00:00:00Z" }],
  ])("answers a bad create body with 400 naming %s, and creates nothing", async (field, body) => {
    const { api, list } = setup();
    const org = ORG();
    const res = await api(`/orgs/${org}/keys`, { method: "POST", headers: await admin(org), body: JSON.stringify(body) });
    expect(res.status).toBe(400);
    const error = (await res.json()) as { code: string; field: string; message: string };
    expect(error).toMatchObject({ code: "INVALID_REQUEST", field });
    expect(error.message.startsWith(`${field}:`)).toBe(true);
    expect(await list(org)).toEqual([]);
  });

  it("refuses a 1 MB body and invalid JSON with 400, creating nothing", async () => {
    const { api, list } = setup();
    const org = ORG();
    const big = await api(`/orgs/${org}/keys`, { method: "POST", headers: await admin(org), body: JSON.stringify({ label: "x".repeat(1 << 20) }) });
    expect(big.status).toBe(400);
    expect(((await big.json()) as { field: string }).field).toBe("body");
    const bad = await api(`/orgs/${org}/keys`, { method: "POST", headers: await admin(org), body: "{label:" });
    expect(bad.status).toBe(400);
    expect(await list(org)).toEqual([]);
  });

  it.each([
    ["limit", { limit: -1, windowSeconds: 60 }],
    ["limit", { limit: 1.5, windowSeconds: 60 }],
    ["limit", { limit: 10_000_001, windowSeconds: 60 }],
    ["windowSeconds", { limit: 10, windowSeconds: 0 }],
    ["windowSeconds", { limit: 10 }],
    ["burst", { limit: 10, windowSeconds: 60, burst: 2 }],
  ])("answers a bad rate-limit body with 400 naming %s, and changes nothing", async (field, body) => {
    const { api, create, operator, list } = setup();
    const org = ORG();
    const { id } = await create(org);
    const res = await api(`/orgs/${org}/keys/${id}/rate-limit`, { method: "PUT", headers: operator, body: JSON.stringify(body) });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { field: string }).field).toBe(field);
    expect((await list(org))[0]?.rateLimit.limit).toBe(60);
  });
});

describe("admin tokens (threats.md 31-36 applied to the admin API)", () => {
  const cases: [string, () => Promise<string>][] = [
    [
      "alg none",
      async () =>
        `${btoa('{"alg":"none"}').replace(/=+$/, "")}.${btoa(JSON.stringify({ sub: "u", org_id: "o", org_role: "org:admin", exp: 9e9 })).replace(/=+$/, "")}.`,
    ],
    ["a wrong secret", () => devToken({ org: "o", secret: "not-the-secret" })],
    ["an expired token", () => devToken({ org: "o", expiresIn: -3600 })],
    ["no exp", () => devToken({ org: "o", omitExp: true })],
    ["a jku header", () => devToken({ org: "o", header: { jku: "https://evil.example/jwks" } })],
    ["a 10 KB kid", () => devToken({ org: "o", header: { kid: "k".repeat(10_000) } })],
    ["a kid with path and quotes", () => devToken({ org: "o", header: { kid: '../../etc/passwd"' } })],
    ["two segments", async () => "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0"],
    ["bad base64", async () => "eyJhbGciOiJIUzI1NiJ9.%%%.abc"],
    ["a JSON array payload", async () => `eyJhbGciOiJIUzI1NiJ9.${btoa("[1,2]").replace(/=+$/, "")}.abc`],
    ["100 KB", async () => `eyJhbGciOiJIUzI1NiJ9.${"a".repeat(100_000)}.abc`],
  ];
  it.each(cases)("answers %s with 401, never a 500, and creates nothing", async (_name, make) => {
    const { api } = setup();
    const res = await api("/orgs/o/keys", { method: "POST", headers: { authorization: `Bearer ${await make()}` }, body: '{"label":"x"}' });
    expect(res.status).toBe(401);
    const code = ((await res.json()) as { code: string }).code;
    expect(["INVALID_USER_TOKEN", "MISSING_AUTH_HEADER"]).toContain(code);
    const list = await api("/orgs/o/keys", { headers: await admin("o") });
    expect(((await list.json()) as { keys: unknown[] }).keys).toEqual([]);
  });
});

describe("discovery", () => {
  it("describes the admin API as OpenAPI generated from the validating schemas", async () => {
    const { api } = setup();
    const doc = (await (await api("/openapi.json")).json()) as {
      openapi: string;
      paths: Record<
        string,
        Record<
          string,
          { requestBody?: { content: Record<string, { schema: { properties: Record<string, { maxLength?: number }>; additionalProperties: boolean } }> } }
        >
      >;
    };
    expect(doc.openapi).toBe("3.1.0");
    const create = doc.paths["/orgs/{org}/keys"]?.post?.requestBody?.content["application/json"]?.schema;
    expect(create?.properties.label?.maxLength).toBe(100);
    expect(create?.additionalProperties).toBe(false);
  });

  it("answers health without secrets", async () => {
    const { h } = setup();
    const res = await h.send("/_keyward/health");
    expect(await res.json()).toEqual({ status: "ok" });
  });
});

describe("another org's admin, on every org-scoped route", () => {
  it("answers 404 everywhere an org admin may act, 403 on operator routes, and changes nothing in the org", async () => {
    const { api, create, audit } = setup();
    const org = ORG();
    const { id } = await create(org, { label: "billing", credits: { remaining: 10 } });
    const before = await audit(org);
    const outsider = await admin(ORG());
    const routes: [string, string, unknown?][] = [
      ["GET", "/keys"],
      ["GET", `/keys/${id}`],
      ["POST", "/keys", { label: "x" }],
      ["PATCH", `/keys/${id}`, { meta: { plan: "free" } }],
      ["POST", `/keys/${id}/revoke`, {}],
      ["POST", `/keys/${id}/disable`, {}],
      ["POST", `/keys/${id}/enable`, {}],
      ["POST", `/keys/${id}/credits`, { operation: "set", value: 1000 }],
      ["POST", "/keys/revoke-all", { confirm: org }],
      ["GET", `/keys/${id}/usage?granularity=hour`],
      ["GET", "/usage?granularity=hour"],
      ["GET", "/anomalies"],
      ["POST", "/anomalies/anom_0000000000000000/acknowledge", {}],
      ["GET", "/audit"],
      ["GET", "/rate-limit"],
      ["GET", "/credits"],
      ["GET", "/webhook"],
      ["PUT", "/webhook", { url: "http://127.0.0.1:9/hook" }],
      ["DELETE", "/webhook"],
      ["GET", "/webhook/deliveries"],
      ["POST", "/webhook/deliveries/msg_00000000000000000000/redeliver", {}],
      ["POST", `/keys/${id}/roll`, {}],
      ["GET", "/sessions"],
      ["DELETE", "/sessions/ses_00000000000000000000"],
    ];
    for (const [method, path, body] of routes) {
      const res = await api(`/orgs/${org}${path}`, { method, headers: outsider, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
      expect({ method, path, status: res.status }).toEqual({ method, path, status: 404 });
    }
    // The operator's routes refuse an org admin, whichever org the token names.
    const operatorRoutes = [
      ["PUT", `/keys/${id}/rate-limit`],
      ["PUT", "/rate-limit"],
      ["DELETE", "/rate-limit"],
      ["POST", "/portal-sessions"],
      ["PUT", "/credits"],
      ["DELETE", "/credits"],
    ];
    // Every org-scoped route definition is in one of the two lists, so a new route
    // cannot skip this test. (GET …/me takes any token and says which org it is for:
    // test/console.test.ts.)
    const tried = [...routes, ...operatorRoutes].map(([method, path]) => `${method} /orgs/:org${String(path).split("?")[0]}`);
    for (const def of Object.values(adminRoutes)) {
      if (!def.path.startsWith("/orgs/:org/") || def.access === "token") continue;
      const pattern = new RegExp(`^${def.method.toUpperCase()} ${def.path.replace(/:[a-z]+/g, "[^/]+")}$`);
      expect(
        tried.some((t) => pattern.test(t)),
        `${def.method} ${def.path} is not tried with another org's token`,
      ).toBe(true);
    }
    for (const [method, path] of operatorRoutes) {
      const res = await api(`/orgs/${org}${path}`, { method, headers: outsider, body: '{"limit":1,"windowSeconds":1}' });
      expect({ method, path, status: res.status }).toEqual({ method, path, status: 403 });
    }
    const after = await api(`/orgs/${org}/keys/${id}`, { headers: await admin(org) });
    expect(await after.json()).toMatchObject({ status: "active", credits: { remaining: 10 } });
    expect(await audit(org)).toEqual(before);
  });
});
