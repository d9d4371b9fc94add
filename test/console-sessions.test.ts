// Console sessions (docs/contract.md, "Console sessions"): one-time portal links,
// the session cookie, its CSRF defences, sign-out and admins ending sessions.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { ConsoleSessions } from "../src/sessions/console-sessions";
import { LINK_TTL_MS, RENEW_AFTER_MS, SESSION_IDLE_MS, SESSION_MAX_MS } from "../src/sessions/session-policy";
import { adminHeaders, newOrg, operatorHeaders } from "./support/admin-client";
import { harness } from "./support/harness";

const OWN = "https://keyward.test";

/** A harness whose clock the test moves. */
function clocked() {
  const clock = { now: Date.now() };
  const h = harness({ now: () => clock.now });
  const api = (path: string, init: RequestInit = {}) => h.send(`/_keyward/v1${path}`, init);
  /** Mints a link as the operator's backend would. */
  async function mint(org: string, body: Record<string, unknown> = { role: "org:admin", subject: "ada@customer.example" }) {
    const res = await api(`/orgs/${org}/portal-sessions`, { method: "POST", headers: operatorHeaders(), body: JSON.stringify(body) });
    expect(res.status).toBe(201);
    return (await res.json()) as { url: string; expiresAt: string };
  }
  /** Opens a link as the browser would; answers the response and the cookie it set (name=value). */
  async function open(url: string) {
    const res = await h.send(new URL(url).pathname, { redirect: "manual" });
    const setCookie = res.headers.getAll("set-cookie").find((c: string) => /^(__Secure-)?keyward_session=/.test(c)) ?? null;
    return { res, setCookie, cookie: setCookie?.split(";")[0] ?? null };
  }
  /** A console call with the cookie, from the console's own page (same origin), with the CSRF token for changes. */
  async function consoleCall(cookie: string, path: string, init: RequestInit & { csrf?: string | null } = {}) {
    const { csrf, ...rest } = init;
    const headers: Record<string, string> = { cookie, "sec-fetch-site": "same-origin", ...(rest.headers as Record<string, string>) };
    if (rest.method !== undefined && rest.method !== "GET") headers.origin = OWN;
    if (csrf) headers["x-keyward-csrf"] = csrf;
    if (rest.body !== undefined) headers["content-type"] = "application/json";
    return api(path, { ...rest, headers });
  }
  async function signIn(org: string, body?: Record<string, unknown>) {
    const link = await mint(org, body);
    const { cookie } = await open(link.url);
    const me = await consoleCall(cookie as string, "/session");
    expect(me.status).toBe(200);
    return {
      cookie: cookie as string,
      session: (await me.json()) as { id: string; csrfToken: string; org: string; subject: string; role: string; returnUrl: string | null },
    };
  }
  return { h, clock, api, mint, open, consoleCall, signIn };
}

async function keyCount(api: (p: string, i?: RequestInit) => Promise<Response>, org: string) {
  const res = await api(`/orgs/${org}/keys`, { headers: await adminHeaders(org) });
  return ((await res.json()) as { keys: unknown[] }).keys.length;
}

describe("portal links", () => {
  it("mints a one-time link (operator only) that signs in to that org and role, with the cookie's flags", async () => {
    const { api, mint, open, consoleCall, h } = clocked();
    const org = newOrg();
    const refused = await api(`/orgs/${org}/portal-sessions`, {
      method: "POST",
      headers: await adminHeaders(org),
      body: JSON.stringify({ role: "org:admin", subject: "x" }),
    });
    expect(refused.status).toBe(403);
    const link = await mint(org, { role: "org:admin", subject: "ada@customer.example", returnUrl: "https://app.seller.example/settings" });
    expect(link.url).toMatch(new RegExp(`^${OWN}/_keyward/console/portal/${org}/[A-Za-z0-9_-]{43}$`));
    expect(Date.parse(link.expiresAt) - Date.now()).toBeLessThanOrEqual(LINK_TTL_MS);

    const { res, setCookie, cookie } = await open(link.url);
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/_keyward/console#/keys");
    expect(res.headers.get("referrer-policy")).toBe("no-referrer");
    const flags = (setCookie ?? "").split(";").map((f: string) => f.trim());
    expect(flags[0]).toMatch(new RegExp(`^keyward_session=${org}\\.[A-Za-z0-9_-]{43}$`));
    expect(flags).toEqual(expect.arrayContaining(["Path=/_keyward/", "HttpOnly", "SameSite=Strict", `Max-Age=${SESSION_IDLE_MS / 1000}`]));
    // Development serves plain http on localhost, so no Secure there (production: tested below).
    expect(flags).not.toContain("Secure");
    // Beside it, a hint for the page's script that holds no secret (and is not HttpOnly, so the page can clear it).
    expect(res.headers.getAll("set-cookie").find((c: string) => c.startsWith("keyward_console_session="))).toMatch(
      /^keyward_console_session=1; Path=\/_keyward\/console; Max-Age=43200; SameSite=Strict$/,
    );

    const session = await consoleCall(cookie as string, "/session");
    expect(session.status).toBe(200);
    expect(await session.json()).toMatchObject({
      org,
      subject: "ada@customer.example",
      role: "org:admin",
      via: "portal",
      returnUrl: "https://app.seller.example/settings",
    });
    const keys = await consoleCall(cookie as string, `/orgs/${org}/keys`);
    expect(keys.status).toBe(200);
    // The link's code and the session's secret are stored only as hashes.
    const code = link.url.split("/").pop() as string;
    const secret = (cookie as string).split(".").pop() as string;
    const store = env.CONSOLE_SESSIONS as DurableObjectNamespace<ConsoleSessions>;
    await runInDurableObject(store.get(store.idFromName(org)), (o: ConsoleSessions, state) => {
      const dump = JSON.stringify([
        ...state.storage.sql.exec("SELECT * FROM sessions").toArray(),
        ...state.storage.sql.exec("SELECT * FROM portal_links").toArray(),
      ]);
      expect(dump).not.toContain(code);
      expect(dump).not.toContain(secret);
      expect(o).toBeDefined();
    });
    expect(h.calls.origin).toHaveLength(0);
  });

  it("refuses a second visit, an expired link and an unknown one with a page saying so, and signs in nobody", async () => {
    const { mint, open, clock, consoleCall } = clocked();
    const org = newOrg();
    const link = await mint(org);
    expect((await open(link.url)).res.status).toBe(303);
    const again = await open(link.url);
    expect(again.res.status).toBe(410);
    expect(again.setCookie).toBeNull();
    expect(await again.res.text()).toContain("This sign-in link has already been used");

    const late = await mint(org);
    clock.now += LINK_TTL_MS;
    const expired = await open(late.url);
    expect(expired.res.status).toBe(410);
    expect(expired.setCookie).toBeNull();
    expect(await expired.res.text()).toContain("expired");
    // The refusal used nothing up: within its time (the clock moved back) the same link still works.
    clock.now -= LINK_TTL_MS;
    expect((await open(late.url)).res.status).toBe(303);

    const unknown = await open(`${OWN}/_keyward/console/portal/${org}/${"A".repeat(43)}`);
    expect(unknown.res.status).toBe(404);
    const garbage = await open(`${OWN}/_keyward/console/portal/${org}/short`);
    expect(garbage.res.status).toBe(404);
    // A made-up cookie opens nothing.
    expect((await consoleCall(`keyward_session=${org}.${"B".repeat(43)}`, "/session")).status).toBe(401);
  });

  it("refuses bad input with 400 naming the field, and creates no link", async () => {
    const { api } = clocked();
    const org = newOrg();
    for (const [body, field] of [
      [{ role: "owner", subject: "a" }, "role"],
      [{ role: "org:admin", subject: "" }, "subject"],
      [{ role: "org:admin", subject: "a\u202eb" }, "subject"],
      [{ role: "org:admin", subject: "a", returnUrl: "javascript:alert(1)" }, "returnUrl"],
      [{ role: "org:admin", subject: "a", returnUrl: "https://u:p@app.example/" }, "returnUrl"],
      [{ role: "org:admin", subject: "a", extra: 1 }, "extra"],
    ] as const) {
      const res = await api(`/orgs/${org}/portal-sessions`, { method: "POST", headers: operatorHeaders(), body: JSON.stringify(body) });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(((await res.json()) as { field: string }).field).toBe(field);
    }
  });

  it("sets a Secure, __Secure- cookie in production and refuses a plain-http return URL there", async () => {
    const h = harness({
      vars: {
        KEYWARD_ENV: "production",
        KEYWARD_DEV_JWT_SECRET: undefined,
        USER_PUBLIC_KEY: undefined,
        KEYWARD_OPERATOR_TOKEN: "a".repeat(64),
        KEYWARD_SIGNING_KEY: JSON.stringify({ ...JSON.parse(env.KEYWARD_SIGNING_KEY), kid: "prod-test" }),
        USER_JWKS_URL: "https://idp.example/jwks",
      },
    });
    const org = newOrg();
    const headers = { authorization: `Bearer ${"a".repeat(64)}`, "content-type": "application/json" };
    const http = await h.send(`/_keyward/v1/orgs/${org}/portal-sessions`, {
      method: "POST",
      headers,
      body: JSON.stringify({ role: "org:member", subject: "a", returnUrl: "http://app.example/" }),
    });
    expect(http.status).toBe(400);
    const res = await h.send(`/_keyward/v1/orgs/${org}/portal-sessions`, {
      method: "POST",
      headers,
      body: JSON.stringify({ role: "org:member", subject: "a" }),
    });
    expect(res.status).toBe(201);
    const opened = await h.send(new URL(((await res.json()) as { url: string }).url).pathname, { redirect: "manual" });
    const flags = (opened.headers.getAll("set-cookie")[0] ?? "").split(";").map((f: string) => f.trim());
    expect(flags[0]).toMatch(/^__Secure-keyward_session=/);
    expect(flags).toContain("Secure");
  });
});

describe("the session cookie on the admin API", () => {
  it("reaches its own org only, with its role", async () => {
    const { signIn, consoleCall } = clocked();
    const org = newOrg();
    const other = newOrg();
    const { cookie } = await signIn(org, { role: "org:member", subject: "mo" });
    expect((await consoleCall(cookie, `/orgs/${other}/keys`)).status).toBe(404);
    expect((await consoleCall(cookie, `/orgs/${other}/usage`)).status).toBe(404);
    // A member reads usage and the org's keys (read-only), and may not create or change one.
    expect((await consoleCall(cookie, `/orgs/${org}/usage`)).status).toBe(200);
    expect((await consoleCall(cookie, `/orgs/${org}/keys`)).status).toBe(200);
    const me = (await (await consoleCall(cookie, "/session")).json()) as { csrfToken: string };
    const create = await consoleCall(cookie, `/orgs/${org}/keys`, { method: "POST", csrf: me.csrfToken, body: JSON.stringify({ label: "member" }) });
    expect(create.status).toBe(403);
    expect(((await create.json()) as { code: string }).code).toBe("INSUFFICIENT_PERMISSIONS");
  });

  it("refuses a change without the CSRF token or from another site (403), and creates nothing", async () => {
    const { signIn, api, consoleCall, h } = clocked();
    const org = newOrg();
    const { cookie, session } = await signIn(org);
    const body = JSON.stringify({ label: "csrf" });
    const attempts: [string, Record<string, string>][] = [
      ["no Origin, no Sec-Fetch-Site, token given", { cookie, "x-keyward-csrf": session.csrfToken }],
      ["cross-site form post", { cookie, origin: "https://evil.example", "sec-fetch-site": "cross-site" }],
      ["cross-site with the token", { cookie, origin: "https://evil.example", "sec-fetch-site": "cross-site", "x-keyward-csrf": session.csrfToken }],
      ["a sibling subdomain", { cookie, origin: "https://evil.keyward.test", "sec-fetch-site": "same-site", "x-keyward-csrf": session.csrfToken }],
      ["same origin without the token", { cookie, origin: OWN, "sec-fetch-site": "same-origin" }],
      ["same origin with a wrong token", { cookie, origin: OWN, "sec-fetch-site": "same-origin", "x-keyward-csrf": "A".repeat(43) }],
    ];
    for (const [what, headers] of attempts) {
      const res = await api(`/orgs/${org}/keys`, { method: "POST", headers: { ...headers, "content-type": "application/json" }, body });
      expect(res.status, what).toBe(403);
      expect(((await res.json()) as { code: string }).code, what).toBe("CROSS_SITE_REQUEST");
    }
    // Reads from another site are refused too: a cookie never rides a cross-origin call.
    const read = await api(`/orgs/${org}/keys`, { headers: { cookie, origin: "https://evil.example", "sec-fetch-site": "cross-site" } });
    expect(read.status).toBe(403);
    expect(await keyCount(api, org)).toBe(0);
    const ok = await consoleCall(cookie, `/orgs/${org}/keys`, { method: "POST", body, csrf: session.csrfToken });
    expect(ok.status).toBe(201);
    expect(await keyCount(api, org)).toBe(1);
    expect(h.calls.origin).toHaveLength(0);
  });

  it("names the session's subject in the audit log", async () => {
    const { signIn, consoleCall, api } = clocked();
    const org = newOrg();
    const { cookie, session } = await signIn(org, { role: "org:admin", subject: "ada@customer.example" });
    const created = await consoleCall(cookie, `/orgs/${org}/keys`, {
      method: "POST",
      body: JSON.stringify({ label: "from the portal" }),
      csrf: session.csrfToken,
    });
    expect(created.status).toBe(201);
    expect(((await created.json()) as { createdBy: string }).createdBy).toBe("portal:ada@customer.example");
    const audit = (await (await api(`/orgs/${org}/audit`, { headers: await adminHeaders(org) })).json()) as { events: { action: string; actor: string }[] };
    expect(audit.events.find((e) => e.action === "key.created")?.actor).toBe("portal:ada@customer.example");
  });

  it("signs out on the server: the old cookie is 401 afterwards", async () => {
    const { signIn, consoleCall } = clocked();
    const org = newOrg();
    const { cookie, session } = await signIn(org);
    const refused = await consoleCall(cookie, "/session", { method: "DELETE" });
    expect(refused.status).toBe(403);
    const out = await consoleCall(cookie, "/session", { method: "DELETE", csrf: session.csrfToken });
    expect(out.status).toBe(204);
    expect(out.headers.get("set-cookie")).toMatch(/^keyward_session=; .*Max-Age=0/);
    const after = await consoleCall(cookie, `/orgs/${org}/keys`);
    expect(after.status).toBe(401);
    expect(((await after.json()) as { code: string }).code).toBe("INVALID_SESSION");
  });

  it("lets an org admin list the org's open sessions and end one: its next call is 401", async () => {
    const { signIn, consoleCall, api } = clocked();
    const org = newOrg();
    const admin = await signIn(org, { role: "org:admin", subject: "ada" });
    const member = await signIn(org, { role: "org:member", subject: "mo" });
    const listed = await consoleCall(admin.cookie, `/orgs/${org}/sessions`);
    expect(listed.status).toBe(200);
    const sessions = ((await listed.json()) as { sessions: { id: string; subject: string }[] }).sessions;
    expect(sessions.map((s) => s.subject).sort()).toEqual(["ada", "mo"]);
    // A member may not list or end sessions; another org's admin gets 404.
    expect((await consoleCall(member.cookie, `/orgs/${org}/sessions`)).status).toBe(403);
    expect((await api(`/orgs/${org}/sessions`, { headers: await adminHeaders(newOrg()) })).status).toBe(404);
    expect((await consoleCall(member.cookie, `/orgs/${org}/usage`)).status).toBe(200);
    const ended = await consoleCall(admin.cookie, `/orgs/${org}/sessions/${member.session.id}`, { method: "DELETE", csrf: admin.session.csrfToken });
    expect(ended.status).toBe(204);
    expect((await consoleCall(member.cookie, `/orgs/${org}/usage`)).status).toBe(401);
    expect((await consoleCall(admin.cookie, `/orgs/${org}/sessions/${member.session.id}`, { method: "DELETE", csrf: admin.session.csrfToken })).status).toBe(
      404,
    );
    // The operator may list them too (bearer token).
    const byOperator = await api(`/orgs/${org}/sessions`, { headers: operatorHeaders() });
    expect(((await byOperator.json()) as { sessions: unknown[] }).sessions).toHaveLength(1);
  });

  it("ends an unused session after its idle time and any session after its maximum, renewing it while in use", async () => {
    const { signIn, consoleCall, clock } = clocked();
    const org = newOrg();
    const { cookie } = await signIn(org);
    // Used every 50 minutes: renewed each time, with a fresh cookie.
    for (let i = 0; i < 3; i++) {
      clock.now += 50 * 60_000;
      const res = await consoleCall(cookie, "/session");
      expect(res.status).toBe(200);
      expect(res.headers.get("set-cookie")).toMatch(/Max-Age=3600/);
    }
    // Within a minute of the last renewal: no write, no cookie.
    clock.now += RENEW_AFTER_MS / 2;
    expect((await consoleCall(cookie, "/session")).headers.get("set-cookie")).toBeNull();
    clock.now += SESSION_IDLE_MS;
    expect((await consoleCall(cookie, "/session")).status).toBe(401);

    const busy = await signIn(org);
    const start = clock.now;
    while (clock.now < start + SESSION_MAX_MS - 50 * 60_000) {
      clock.now += 50 * 60_000;
      expect((await consoleCall(busy.cookie, "/session")).status).toBe(200);
    }
    clock.now = start + SESSION_MAX_MS;
    expect((await consoleCall(busy.cookie, "/session")).status).toBe(401);
  });

  it("costs a bearer-token call nothing extra, and a cookie call one session-store RPC", async () => {
    const { signIn, consoleCall, api, h } = clocked();
    const org = newOrg();
    const { cookie } = await signIn(org);
    const before = h.calls.sessions.length;
    // Even with a cookie beside it, a bearer token is used and the session store is not asked.
    const bearer = await api(`/orgs/${org}/keys`, { headers: { ...(await adminHeaders(org)), cookie } });
    expect(bearer.status).toBe(200);
    expect(h.calls.sessions.length).toBe(before);
    expect((await consoleCall(cookie, `/orgs/${org}/keys`)).status).toBe(200);
    expect(h.calls.sessions.slice(before)).toEqual(["authenticate"]);
  });

  it("answers /session with 404 for a bearer token, which has no session", async () => {
    const { api } = clocked();
    const org = newOrg();
    expect((await api("/session", { headers: await adminHeaders(org) })).status).toBe(404);
    expect((await api("/session")).status).toBe(401);
  });
});
