import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Me } from "../src/admin/api-types";
import { CONSOLE_CSP } from "../src/console/routes";
import { harness } from "./support/harness";
import { devToken } from "./support/tokens";

const ORG = () => `org_${crypto.randomUUID().slice(0, 8)}`;
const bearer = (token: string) => ({ authorization: `Bearer ${token}`, "content-type": "application/json" });

describe("GET /_keyward/v1/orgs/{org}/me: who the token is and what it may do here", () => {
  it("tells an org admin everything it may do, with the token's expiry, and reads no storage", async () => {
    const h = harness();
    const org = ORG();
    const before = Math.floor(Date.now() / 1000);
    const res = await h.send(`/_keyward/v1/orgs/${org}/me`, { headers: bearer(await devToken({ org, sub: "alice", expiresIn: 900 })) });
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const me = (await res.json()) as Me;
    expect(me).toMatchObject({ org, actor: "user", subject: "alice", tokenOrg: org, role: "org:admin" });
    expect(me.can).toEqual({ listKeys: true, createKeys: true, revokeKeys: true, readAudit: true, changeRateLimits: false, grantCredits: false });
    const exp = Date.parse(me.tokenExpiresAt ?? "") / 1000;
    expect(exp).toBeGreaterThanOrEqual(before + 900);
    expect(exp).toBeLessThanOrEqual(before + 902);
    expect(h.calls.kv).toEqual({ get: 0, put: 0, delete: 0, list: 0 });
    expect(h.calls.guard).toEqual([]);
    expect(h.calls.origin).toHaveLength(0);
  });

  it("tells a member it may read the org's keys and change nothing", async () => {
    const h = harness();
    const org = ORG();
    const me = (await (await h.send(`/_keyward/v1/orgs/${org}/me`, { headers: bearer(await devToken({ org, role: "org:member" })) })).json()) as Me;
    expect(me.role).toBe("org:member");
    expect(me.can).toEqual({ listKeys: true, createKeys: false, revokeKeys: false, readAudit: false, changeRateLimits: false, grantCredits: false });
  });

  it("tells another org's admin which org its token is for, the same whether the asked org has keys or not", async () => {
    const h = harness();
    const mine = ORG();
    const theirs = ORG();
    const created = await h.send(`/_keyward/v1/orgs/${theirs}/keys`, {
      method: "POST",
      headers: bearer(await devToken({ org: theirs })),
      body: '{"label":"x"}',
    });
    expect(created.status).toBe(201);
    const token = await devToken({ org: mine, sub: "bob" });
    const ask = async (org: string) => (await (await h.send(`/_keyward/v1/orgs/${org}/me`, { headers: bearer(token) })).json()) as Me;
    const existing = await ask(theirs);
    const missing = await ask(ORG());
    expect(existing.tokenOrg).toBe(mine);
    expect(Object.values(existing.can).every((v) => v === false)).toBe(true);
    expect({ ...existing, org: "?" }).toEqual({ ...missing, org: "?" });
  });

  it("tells the operator token it may do everything in any org, money grants included", async () => {
    const h = harness();
    const me = (await (await h.send(`/_keyward/v1/orgs/${ORG()}/me`, { headers: bearer(env.KEYWARD_OPERATOR_TOKEN) })).json()) as Me;
    expect(me).toMatchObject({ actor: "operator", subject: null, tokenExpiresAt: null });
    expect(me.can).toEqual({ listKeys: true, createKeys: true, revokeKeys: true, readAudit: true, changeRateLimits: true, grantCredits: true });
  });

  it.each([
    ["no token", {}, "MISSING_AUTH_HEADER"],
    ["garbage", bearer("garbage"), "INVALID_USER_TOKEN"],
    ["a token that is not a JWT", bearer("a.b.c"), "INVALID_USER_TOKEN"],
  ])("answers %s with 401 %s", async (_name, headers, code) => {
    const h = harness();
    const res = await h.send(`/_keyward/v1/orgs/${ORG()}/me`, { headers });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { code: string }).code).toBe(code);
  });

  it("answers an expired token 401 saying it has expired", async () => {
    const h = harness();
    const org = ORG();
    const res = await h.send(`/_keyward/v1/orgs/${org}/me`, { headers: bearer(await devToken({ org, expiresIn: -3600 })) });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { message: string }).message).toMatch(/expired/);
  });

  it("answers other methods 405 with Allow: GET", async () => {
    const h = harness();
    const org = ORG();
    const res = await h.send(`/_keyward/v1/orgs/${org}/me`, { method: "POST", headers: bearer(await devToken({ org })) });
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("GET");
  });

  // The flags and the routes are decided in two places; this holds them together.
  it.each([
    ["org:admin", "own org"],
    ["org:member", "own org"],
    ["org:admin", "other org"],
    ["operator", "any org"],
  ])("each flag for an %s token (%s) matches what the route answers", async (role, where) => {
    const h = harness();
    const org = ORG();
    const seed = await h.send(`/_keyward/v1/orgs/${org}/keys`, { method: "POST", headers: bearer(await devToken({ org })), body: '{"label":"seed"}' });
    const { id } = (await seed.json()) as { id: string };
    const headers = bearer(role === "operator" ? env.KEYWARD_OPERATOR_TOKEN : await devToken({ org: where === "own org" ? org : ORG(), role }));
    const me = (await (await h.send(`/_keyward/v1/orgs/${org}/me`, { headers })).json()) as Me;
    const ok = async (path: string, init: RequestInit = {}) => (await h.send(`/_keyward/v1/orgs/${org}${path}`, { headers, ...init })).ok;
    expect(await ok("/keys")).toBe(me.can.listKeys);
    expect(await ok("/audit")).toBe(me.can.readAudit);
    expect(await ok(`/keys/${id}/rate-limit`, { method: "PUT", body: '{"limit":5,"windowSeconds":60}' })).toBe(me.can.changeRateLimits);
    expect(await ok("/keys", { method: "POST", body: '{"label":"probe"}' })).toBe(me.can.createKeys);
    expect(await ok(`/keys/${id}/credits`, { method: "POST", body: '{"operation":"set","value":5}' })).toBe(me.can.grantCredits);
    expect(await ok(`/keys/${id}/revoke`, { method: "POST", body: "{}" })).toBe(me.can.revokeKeys);
  });

  it("is in the OpenAPI document", async () => {
    const h = harness();
    const doc = (await (await h.send("/_keyward/v1/openapi.json")).json()) as { paths: Record<string, { get?: { responses: Record<string, unknown> } }> };
    expect(Object.keys(doc.paths["/orgs/{org}/me"]?.get?.responses ?? {})).toEqual(expect.arrayContaining(["200", "401"]));
  });
});

describe("the console's files", () => {
  it("serves the page, its stylesheet and its bundled program under a strict CSP, with no inline script or style", async () => {
    const h = harness();
    const page = await h.send("/_keyward/console");
    expect(page.status).toBe(200);
    expect(page.headers.get("content-security-policy")).toBe(CONSOLE_CSP);
    expect(CONSOLE_CSP).toContain("script-src 'self'");
    expect(CONSOLE_CSP).not.toMatch(/unsafe-inline|unsafe-eval|https?:/);
    const html = await page.text();
    expect(html).toContain('<script type="module" src="/_keyward/console/app.js"></script>');
    expect(html.match(/<script/g)).toHaveLength(1);
    expect(html).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);

    const js = await h.send("/_keyward/console/app.js");
    expect(js.headers.get("content-type")).toMatch(/^text\/javascript/);
    expect(js.headers.get("content-security-policy")).toBe(CONSOLE_CSP);
    const program = await js.text();
    // Bundled: TypeScript compiled away, modules inlined, and no HTML parsing of data.
    expect(program).not.toMatch(/^import /m);
    // It calls the admin API by route: the prefix and the route table (admin/route-refs.js) are in the bundle.
    expect(program).toContain('"/_keyward/v1"');
    expect(program).toContain('"/orgs/:org/keys"');
    expect(program).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write/);

    const css = await h.send("/_keyward/console/app.css");
    expect(css.headers.get("content-type")).toMatch(/^text\/css/);
    expect(await css.text()).toContain("@media (max-width: 720px)");
  });
});

describe("GET /_keyward/", () => {
  it.each(["/_keyward", "/_keyward/"])("%s says where the admin API, its OpenAPI document and the console are", async (path) => {
    const h = harness();
    const res = await h.send(path);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ adminApi: "/_keyward/v1", openapi: "/_keyward/v1/openapi.json", console: "/_keyward/console" });
    expect(h.calls.origin).toHaveLength(0);
  });

  it("points unknown /_keyward routes at it", async () => {
    const h = harness();
    const res = await h.send("/_keyward/nope");
    expect(res.status).toBe(404);
    expect(((await res.json()) as { message: string }).message).toContain("See /_keyward/ for the admin API, its OpenAPI document and the console");
  });
});
