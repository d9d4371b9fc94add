// Signing in to the console with the identity provider (docs/contract.md,
// "Console sessions"; threats.md 128-135): the authorization code flow with
// PKCE, state and nonce, against an OpenID provider faked in the test's process.
// Every refusal is a page, sets no session cookie, and (where the check comes
// first) never reaches the provider's token endpoint.
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../src/config";
import type { ConsoleSessions } from "../src/sessions/console-sessions";
import { FLOW_TTL_MS } from "../src/sessions/oidc-flow-cookie";
import { SIGN_IN_FLOWS } from "../src/sessions/session-client";
import { secretHash } from "../src/sessions/session-secrets";
import { operatorHeaders } from "./support/admin-client";
import { API_AUDIENCE, type Approval, CLIENT_ID, fakeIdp, IDP, OIDC_VARS } from "./support/fake-idp";
import { harness } from "./support/harness";

const OWN = "https://keyward.test";
const ACME = { org_id: `org_oidc_${crypto.randomUUID().slice(0, 8)}`, org_role: "org:admin" };

async function setup(vars: Record<string, unknown> = {}) {
  const idp = await fakeIdp();
  const clock = { now: Date.now() };
  const h = harness({ vars: { ...OIDC_VARS, ...vars }, jwksFetch: idp.fetch, now: () => clock.now });
  const cookiesOf = (res: Response) => res.headers.getAll("set-cookie") as string[];
  const sessionCookieOf = (res: Response) => cookiesOf(res).find((c) => c.startsWith("keyward_session=")) ?? null;

  /** Clicks "Sign in with …": answers the redirect to the provider, its query and the flow cookie. */
  async function start() {
    const res = await h.send("/_keyward/console/oidc/start", { redirect: "manual" });
    const location = res.headers.get("location") ?? "";
    // The cookie that holds a state (a refusal only sends its removal).
    const flowSetCookie = cookiesOf(res).find((c) => /^keyward_oidc_state=[^;]/.test(c)) ?? "";
    return { res, location, query: new URL(location, OWN).searchParams, flowSetCookie, flowCookie: flowSetCookie.split(";")[0] ?? "" };
  }
  /** The provider's redirect back, as the browser follows it. */
  async function callback(params: Record<string, string>, cookie: string | null) {
    const res = await h.send(`/_keyward/console/oidc/callback?${new URLSearchParams(params)}`, { redirect: "manual", headers: cookie ? { cookie } : {} });
    return { res, text: await res.text(), session: sessionCookieOf(res), cookies: cookiesOf(res) };
  }
  /** The whole flow: start, approve at the provider with `approval`, come back. */
  async function signIn(approval: Approval = { idClaims: ACME }) {
    const started = await start();
    const code = idp.approve(started.location, approval);
    return { started, code, ...(await callback({ code, state: started.query.get("state") ?? "" }, started.flowCookie)) };
  }
  /** A console call with the session cookie, from the console's own page. */
  const consoleCall = (cookie: string, path: string) =>
    h.send(`/_keyward/v1${path}`, { headers: { cookie: cookie.split(";")[0] as string, "sec-fetch-site": "same-origin" } });
  return { idp, h, clock, start, callback, signIn, consoleCall };
}

describe("signing in with the identity provider", () => {
  it("sends the browser to the provider with PKCE S256, state, nonce and the registered callback, and ties the flow to this browser", async () => {
    const { start, idp } = await setup();
    const { res, location, query, flowSetCookie } = await start();
    expect(res.status).toBe(302);
    expect(location.startsWith(`${IDP}/authorize?`)).toBe(true);
    expect(Object.fromEntries(query)).toMatchObject({
      response_type: "code",
      client_id: CLIENT_ID,
      redirect_uri: `${OWN}/_keyward/console/oidc/callback`,
      scope: "openid",
      code_challenge_method: "S256",
      resource: API_AUDIENCE,
    });
    for (const p of ["state", "nonce", "code_challenge"]) expect(query.get(p)).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(query.get("state")).not.toBe(query.get("nonce"));
    const flags = flowSetCookie.split(";").map((f) => f.trim());
    expect(flags[0]).toBe(`keyward_oidc_state=${query.get("state")}`);
    expect(flags).toEqual(expect.arrayContaining(["Path=/_keyward/console/oidc/", "HttpOnly", "SameSite=Lax", `Max-Age=${FLOW_TTL_MS / 1000}`]));
    expect(res.headers.get("referrer-policy")).toBe("no-referrer");
    expect(idp.calls).toMatchObject({ discovery: 1, token: 0 });
  });

  it("makes the same cookie session as a portal link, for the org and role of the ID token, audited as the token's subject", async () => {
    const { signIn, consoleCall, h, idp } = await setup();
    const { res, session, cookies, started } = await signIn({ sub: "ada@customer.example", idClaims: ACME });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/_keyward/console#/keys");
    expect(session).not.toBeNull();
    expect((session as string).split(";").map((f) => f.trim())).toEqual(expect.arrayContaining(["Path=/_keyward/", "HttpOnly", "SameSite=Strict"]));
    expect(cookies.some((c) => c.startsWith("keyward_console_session=1"))).toBe(true);
    // The flow cookie goes with the flow.
    expect(cookies.some((c) => c.startsWith("keyward_oidc_state=;") && c.includes("Max-Age=0"))).toBe(true);
    // The code went to the token endpoint with the verifier whose S256 the provider was sent.
    const sent = idp.seen.tokenBodies[0] as URLSearchParams;
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(sent.get("code_verifier") ?? "")));
    expect(
      btoa(String.fromCharCode(...digest))
        .replace(/=+$/, "")
        .replace(/\+/g, "-")
        .replace(/\//g, "_"),
    ).toBe(started.query.get("code_challenge"));
    expect(sent.get("client_id")).toBe(CLIENT_ID);
    expect(sent.has("client_secret")).toBe(false);

    const self = await consoleCall(session as string, "/session");
    expect(self.status).toBe(200);
    expect(await self.json()).toMatchObject({ org: ACME.org_id, subject: "ada@customer.example", role: "org:admin", via: "oidc", returnUrl: null });
    const created = await h.send(`/_keyward/v1/orgs/${ACME.org_id}/keys`, {
      method: "POST",
      headers: operatorHeaders(),
      body: '{"label":"seen in the console"}',
    });
    expect(created.status).toBe(201);
    const keys = await consoleCall(session as string, `/orgs/${ACME.org_id}/keys`);
    expect(((await keys.json()) as { keys: { label: string }[] }).keys.map((k) => k.label)).toContain("seen in the console");
    // Another org: the same 404 as for a token of this org.
    expect((await consoleCall(session as string, "/orgs/org_other/keys")).status).toBe(404);
    const sessions = await consoleCall(session as string, `/orgs/${ACME.org_id}/sessions`);
    expect(((await sessions.json()) as { sessions: { subject: string; via: string }[] }).sessions).toEqual([
      expect.objectContaining({ subject: "ada@customer.example", via: "oidc" }),
    ]);
    // Created through the session (with its CSRF token): audited as the token's subject.
    const csrf = ((await (await consoleCall(session as string, "/session")).json()) as { csrfToken: string }).csrfToken;
    const made = await h.send(`/_keyward/v1/orgs/${ACME.org_id}/keys`, {
      method: "POST",
      headers: { cookie: (session as string).split(";")[0] as string, "sec-fetch-site": "same-origin", origin: OWN, "x-keyward-csrf": csrf },
      body: '{"label":"by ada"}',
    });
    expect(made.status).toBe(201);
    const audit = await consoleCall(session as string, `/orgs/${ACME.org_id}/audit`);
    const events = ((await audit.json()) as { events: { action: string; actor: string }[] }).events;
    expect(events.find((e) => e.action === "key.created" && e.actor !== "operator")?.actor).toBe("user:ada@customer.example");
  });

  it("reads the org and role from the access token when the ID token has none, verified as a user token for the same subject", async () => {
    const { signIn, consoleCall } = await setup();
    const member = await signIn({ sub: "max", accessClaims: { org_id: "org_oidc_globex", org_role: "org:member" } });
    expect(member.res.status).toBe(303);
    expect(await (await consoleCall(member.session as string, "/session")).json()).toMatchObject({
      org: "org_oidc_globex",
      role: "org:member",
      subject: "max",
    });

    const other = await signIn({ sub: "max", accessClaims: { sub: "someone-else", ...ACME } });
    expect(other.res.status).toBe(401);
    expect(other.session).toBeNull();
  });

  it("refuses a callback whose state is not this browser's, before any lookup or provider call (login CSRF)", async () => {
    const { start, callback, idp, h } = await setup();
    const victim = await start();
    const attacker = await start();
    const code = idp.approve(attacker.location, { idClaims: ACME });
    const before = h.calls.sessions.length;
    for (const [params, cookie] of [
      [{ code, state: attacker.query.get("state") ?? "" }, victim.flowCookie],
      [{ code, state: attacker.query.get("state") ?? "" }, null],
      [{ code }, victim.flowCookie],
      [{ code, state: "x".repeat(43) }, victim.flowCookie],
    ] as const) {
      const answer = await callback(params, cookie);
      expect(answer.res.status).toBe(400);
      expect(answer.text).toContain("This sign-in did not start in this browser");
      expect(answer.session).toBeNull();
    }
    expect(h.calls.sessions.slice(before)).toEqual([]);
    expect(idp.calls.token).toBe(0);
  });

  it("exchanges a code once: a replayed callback is refused without calling the provider", async () => {
    const { signIn, callback, idp } = await setup();
    const first = await signIn({ idClaims: ACME });
    expect(first.res.status).toBe(303);
    const replay = await callback({ code: first.code, state: first.started.query.get("state") ?? "" }, first.started.flowCookie);
    expect(replay.res.status).toBe(400);
    expect(replay.text).toContain("This sign-in has already been used");
    expect(replay.session).toBeNull();
    expect(idp.calls.token).toBe(1);
  });

  it("refuses an ID token with another nonce, a wrong audience, another issuer or an unknown key, and makes no session", async () => {
    const { signIn, h } = await setup();
    const org = { org_id: `org_oidc_${crypto.randomUUID().slice(0, 8)}`, org_role: "org:admin" };
    for (const approval of [
      { idClaims: org, idOverrides: { nonce: "another-sign-in" } },
      { idClaims: org, idOverrides: { nonce: undefined } },
      { idClaims: org, idOverrides: { aud: "another-client" } },
      { idClaims: org, idOverrides: { aud: [CLIENT_ID, "another-client"], azp: "another-client" } },
      { idClaims: org, idOverrides: { iss: "https://evil.test" } },
      { idClaims: org, idOverrides: { exp: Math.floor(Date.now() / 1000) - 3600 } },
      { idClaims: org, foreignKey: true },
    ]) {
      const answer = await signIn(approval);
      expect(answer.res.status, JSON.stringify(approval)).toBe(401);
      expect(answer.text).toContain("Test IdP&#39;s answer could not be verified");
      expect(answer.session).toBeNull();
    }
    const list = await h.send(`/_keyward/v1/orgs/${org.org_id}/sessions`, { headers: operatorHeaders() });
    expect(((await list.json()) as { sessions: unknown[] }).sessions).toEqual([]);
  });

  it("refuses a token without an org or a role with a page saying whom to ask", async () => {
    const { signIn } = await setup();
    const noOrg = await signIn({ idClaims: { org_role: "org:admin" } });
    expect(noOrg.res.status).toBe(403);
    expect(noOrg.text).toContain("Your account names no organisation");
    expect(noOrg.text).toContain("claim &quot;org_id&quot;");
    const noRole = await signIn({ idClaims: { org_id: ACME.org_id } });
    expect(noRole.res.status).toBe(403);
    expect(noRole.text).toContain("Your account has no role in its organisation");
    const badOrg = await signIn({ idClaims: { org_id: "org with spaces", org_role: "org:admin" } });
    expect(badOrg.res.status).toBe(403);
    for (const a of [noOrg, noRole, badOrg]) expect(a.session).toBeNull();
  });

  it("says so when consent is denied, or the sign-in took over 10 minutes, without calling the token endpoint", async () => {
    const { start, callback, idp, clock } = await setup();
    const denied = await start();
    const answer = await callback({ error: "access_denied", state: denied.query.get("state") ?? "" }, denied.flowCookie);
    expect(answer.res.status).toBe(403);
    expect(answer.text).toContain("You did not allow the console to sign you in");
    expect(answer.text).toContain('href="/_keyward/console"');

    const slow = await start();
    const code = idp.approve(slow.location, { idClaims: ACME });
    clock.now += FLOW_TTL_MS;
    const late = await callback({ code, state: slow.query.get("state") ?? "" }, slow.flowCookie);
    expect(late.res.status).toBe(400);
    expect(late.text).toContain("This sign-in took too long");
    expect(idp.calls.token).toBe(0);
    for (const a of [answer, late]) expect(a.session).toBeNull();
  });

  it("fails closed with a page when the provider is down or misconfigured", async () => {
    const { start, signIn, idp } = await setup();
    idp.faults.discovery = "down";
    const down = await start();
    expect(down.res.status).toBe(503);
    expect(await down.res.text()).toContain("Test IdP could not be reached");
    expect(down.flowSetCookie).toBe("");

    idp.faults.discovery = { issuer: "https://another-issuer.test" };
    const mismatch = await start();
    expect(mismatch.res.status).toBe(503);
    expect(await mismatch.res.text()).toContain("Signing in with Test IdP is misconfigured");
    idp.faults.discovery = { code_challenge_methods_supported: ["plain"] };
    expect((await start()).res.status).toBe(503);

    idp.faults.discovery = null;
    idp.faults.token = "500";
    const tokenDown = await signIn({ idClaims: ACME });
    expect(tokenDown.res.status).toBe(503);
    expect(tokenDown.session).toBeNull();
  });

  it("stores a flow under its state's hash only, and its store's alarm deletes it once its 10 minutes are over", async () => {
    const { start, clock } = await setup();
    // A flow started 11 minutes ago (the clock Keyward is given), and one started now.
    clock.now = Date.now() - FLOW_TTL_MS - 60_000;
    const old = await start();
    clock.now = Date.now();
    const fresh = await start();
    const namespace = env.CONSOLE_SESSIONS as DurableObjectNamespace<ConsoleSessions>;
    const stub = namespace.get(namespace.idFromName(SIGN_IN_FLOWS));
    const [oldHash, freshHash] = [await secretHash(old.query.get("state") ?? ""), await secretHash(fresh.query.get("state") ?? "")];
    const rows = () =>
      runInDurableObject(stub, (_o, state) => state.storage.sql.exec("SELECT * FROM oidc_flows WHERE state_hash IN (?, ?)", oldHash, freshHash).toArray());
    const before = await rows();
    expect(before.map((r) => r.state_hash).sort()).toEqual([oldHash, freshHash].sort());
    // Neither state is stored as it is, only its SHA-256.
    for (const row of before) expect(Object.values(row)).not.toContain(old.query.get("state"));
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect((await rows()).map((r) => r.state_hash)).toEqual([freshHash]);
  });

  it("is off without CONSOLE_OIDC_CLIENT_ID: no button, and its routes say so", async () => {
    const off = harness({ vars: { ...OIDC_VARS, CONSOLE_OIDC_CLIENT_ID: "", CONSOLE_OIDC_PROVIDER_NAME: "" } });
    expect(await (await off.send("/_keyward/console")).text()).not.toContain("signin-idp");
    const start = await off.send("/_keyward/console/oidc/start", { redirect: "manual" });
    expect(start.status).toBe(404);
    expect(await start.text()).toContain("Signing in with an identity provider is not set up here");

    const { h } = await setup({ CONSOLE_OIDC_PROVIDER_NAME: "Acme SSO" });
    const page = await (await h.send("/_keyward/console")).text();
    expect(page).toContain('<a id="signin-idp" class="button" href="/_keyward/console/oidc/start">Sign in with Acme SSO</a>');
  });
});

describe("CONSOLE_OIDC_* configuration", () => {
  const base = {
    ORIGIN_URL: "http://origin.test",
    KEYWARD_SIGNING_KEY: JSON.stringify({ kty: "EC", crv: "P-256", x: "x", y: "y", d: "d", kid: "k" }),
    ...OIDC_VARS,
  };
  it.each([
    [{ USER_TOKEN_ISSUER: "" }, /USER_TOKEN_ISSUER is required with CONSOLE_OIDC_CLIENT_ID/],
    [{ USER_TOKEN_ISSUER: "not a url" }, /USER_TOKEN_ISSUER must be the identity provider's issuer URL/],
    [{ USER_TOKEN_ISSUER: "http://idp.test" }, /USER_TOKEN_ISSUER must be .*https/],
    [{ USER_JWKS_URL: "" }, /CONSOLE_OIDC_CLIENT_ID needs the provider's keys/],
    [{ CONSOLE_OIDC_CLIENT_ID: "has space" }, /CONSOLE_OIDC_CLIENT_ID must be the client id/],
    [{ CONSOLE_OIDC_CLIENT_ID: "", CONSOLE_OIDC_CLIENT_SECRET: "s3cr3t-value" }, /CONSOLE_OIDC_CLIENT_SECRET is set but CONSOLE_OIDC_CLIENT_ID is not/],
    [{ CONSOLE_OIDC_CLIENT_SECRET: "short" }, /CONSOLE_OIDC_CLIENT_SECRET is too short/],
    [{ CONSOLE_OIDC_PROVIDER_NAME: "<script>" }, /CONSOLE_OIDC_PROVIDER_NAME must be 1-40/],
    [{ CONSOLE_OIDC_SCOPES: 'org "x"' }, /CONSOLE_OIDC_SCOPES has/],
  ])("refuses %o at start-up, naming the variable", (override, message) => {
    expect(() => loadConfig({ ...base, ...override })).toThrow(message);
  });

  it("reads a good configuration: openid first, the audience as the resource, the issuer's host as the default name", () => {
    const config = loadConfig({ ...base, KEYWARD_ENV: "development", CONSOLE_OIDC_PROVIDER_NAME: "", CONSOLE_OIDC_SCOPES: "profile openid org" });
    expect(config.consoleOidc).toMatchObject({
      clientId: CLIENT_ID,
      clientSecret: null,
      providerName: "idp.test",
      scopes: ["openid", "profile", "org"],
      resource: API_AUDIENCE,
    });
    expect(loadConfig({ ...base, CONSOLE_OIDC_CLIENT_ID: "", CONSOLE_OIDC_PROVIDER_NAME: "" }).consoleOidc).toBeNull();
  });
});
