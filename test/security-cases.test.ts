// The hardening cases of docs/security.md (considerations 17-22): each answer was
// dubious before and is tested here against the whole gateway, asserting what the
// origin received, or that it was never called.
import fc from "fast-check";
import { createLocalJWKSet } from "jose";
import { describe, expect, it } from "vitest";
import { isMethodOverrideParam } from "../src/authz/authorizer";
import { decodeKeywardHeader, verifyKeywardContext } from "../src/origin/verify-context";
import { harness, seedKey } from "./support/harness";
import { devToken } from "./support/tokens";

type Echo = { method: string; path: string; headers: Record<string, string> };
const ORG = "org_acme";

async function codeOf(res: Response) {
  return ((await res.json()) as { code: string }).code;
}

/** Sends the key in X-API-Key and a user token (dev HS256) as a Bearer token. */
async function dual(h: ReturnType<typeof harness>, key: string, claims: { sub?: string; extra?: Record<string, unknown> }, path = "/v1/things") {
  const token = await devToken({ org: ORG, role: "org:member", ...(claims.sub !== undefined ? { sub: claims.sub } : {}), extra: claims.extra ?? {} });
  return h.send(path, { headers: { "x-api-key": key, authorization: `Bearer ${token}` } });
}

describe("17. every spelling of a _method query parameter is a method override", () => {
  const policy = { rules: [{ method: ["GET", "POST"], path: "/public/*", permission: null }] };

  it.each(["_method", ".method", "%20method", "_METHOD", "_Method", "_method%5B%5D", "_method[]", "_method[0]", ".METHOD%5B%5D"])(
    "refuses POST /public/x?%s=DELETE without calling the origin",
    async (name) => {
      const h = harness({ policy });
      const { key } = await seedKey({ org: ORG, limit: 100 });
      const res = await h.call(key, `/public/x?${name}=DELETE`, { method: "POST" });
      expect(res.status).toBe(403);
      expect(await codeOf(res)).toBe("INSUFFICIENT_PERMISSIONS");
      expect(h.calls.origin).toHaveLength(0);
    },
  );

  it.each(["my_method", "_methods", "method", "_method_", "x[_method]"])("forwards a parameter that is not an override (%s)", async (name) => {
    const h = harness({ policy });
    const { key } = await seedKey({ org: ORG, limit: 100 });
    expect((await h.call(key, `/public/x?${name}=DELETE`, { method: "POST" })).status).toBe(200);
    expect(h.calls.origin).toHaveLength(1);
  });

  it("does not treat an empty X-HTTP-Method-Override or _method as an override", async () => {
    const h = harness({ policy });
    const { key } = await seedKey({ org: ORG, limit: 100 });
    expect((await h.call(key, "/public/x", { headers: { "x-http-method-override": "" } })).status).toBe(200);
    expect((await h.call(key, "/public/x?_method=", { method: "POST" })).status).toBe(200);
    expect((await h.call(key, "/public/x", { headers: { "x-http-method-override": "DELETE" } })).status).toBe(403);
    expect(h.calls.origin.map((r) => r.method)).toEqual(["GET", "POST"]);
  });

  it("recognises _method in any letter case with any trailing [...] suffix", () => {
    const spelling = fc.tuple(
      fc.array(fc.boolean(), { minLength: 7, maxLength: 7 }),
      fc.constantFrom("_", ".", " "),
      fc.array(fc.constantFrom("[]", "[0]", "[x]"), { maxLength: 3 }),
    );
    fc.assert(
      fc.property(spelling, ([upper, first, suffix]) => {
        const letters = [..."method"].map((c, i) => (upper[i] ? c.toUpperCase() : c)).join("");
        return isMethodOverrideParam(`${first}${letters}${suffix.join("")}`);
      }),
    );
  });
});

describe("18. a user token whose subject cannot be a header is refused before the guard", () => {
  it.each([
    ["CR/LF", "user\r\nX-Evil: 1"],
    ["a NUL", "user\u0000x"],
    ["a bidi override", "user\u202Etxt.exe"],
  ])("answers 401 INVALID_USER_TOKEN for a subject with %s, spending none of the limit", async (_name, sub) => {
    const h = harness();
    const { key } = await seedKey({ org: ORG, limit: 3 });
    for (let i = 0; i < 3; i++) {
      const res = await dual(h, key, { sub, extra: { permissions: ["read"] } });
      expect(res.status).toBe(401);
      expect(await codeOf(res)).toBe("INVALID_USER_TOKEN");
    }
    expect(h.calls.origin).toHaveLength(0);
    // The limit of 3 is untouched: an honest request still gets through.
    expect((await dual(h, key, { sub: "user_ok", extra: { permissions: ["read"] } })).status).toBe(200);
    expect(h.calls.origin).toHaveLength(1);
  });
});

describe("19. user-token permissions meet the key scope character set", () => {
  it("drops a permission with a space, so no origin can split it into a grant", async () => {
    const h = harness();
    const { key } = await seedKey({ org: ORG });
    const res = await dual(h, key, { extra: { permissions: ["x customers:write", "read", "tab\tadmin", "ok:write"] } });
    expect(res.status).toBe(200);
    const seen = (await res.json()) as Echo;
    expect(seen.headers["x-keyward-permissions"]).toBe("ok:write read");
    const jwks = createLocalJWKSet(await (await h.send("/_keyward/.well-known/jwks.json")).json());
    expect((await verifyKeywardContext(h.calls.origin[0] as Request, { jwks })).permissions).toEqual(["ok:write", "read"]);
  });
});

describe("20. a non-ASCII subject reaches the origin percent-encoded, and decodes exactly", () => {
  it.each([
    ["用户", "%E7%94%A8%E6%88%B7"],
    ["josé", "jos%C3%A9"],
    ["50%off", "50%25off"],
    ["auth0|abc 1", "auth0|abc 1"],
  ])("sends %s as %s", async (sub, header) => {
    const h = harness();
    const { key } = await seedKey({ org: ORG });
    const res = await dual(h, key, { sub, extra: { permissions: ["read"] } });
    expect(res.status).toBe(200);
    const seen = (await res.json()) as Echo;
    expect(seen.headers["x-keyward-user"]).toBe(header);
    expect(decodeKeywardHeader(header)).toBe(sub);
    const jwks = createLocalJWKSet(await (await h.send("/_keyward/.well-known/jwks.json")).json());
    expect((await verifyKeywardContext(h.calls.origin[0] as Request, { jwks })).user).toBe(sub);
  });
});

describe("21. key labels refuse control and bidi-control characters", () => {
  async function create(label: string) {
    const h = harness();
    const org = `org_${crypto.randomUUID().slice(0, 8)}`;
    const headers = { authorization: `Bearer ${await devToken({ org, role: "org:admin" })}`, "content-type": "application/json" };
    const res = await h.send(`/_keyward/v1/orgs/${org}/keys`, { method: "POST", headers, body: JSON.stringify({ label }) });
    const list = await h.send(`/_keyward/v1/orgs/${org}/keys`, { headers });
    return { res, keys: ((await list.json()) as { keys: unknown[] }).keys };
  }

  it.each([
    ["NUL", "a\u0000b"],
    ["ESC", "\u001b[31mred"],
    ["CR/LF", "line\r\nbreak"],
    ["DEL", "a\u007fb"],
    ["U+202E", "evil\u202Etxt.exe"],
    ["U+2066", "\u2066isolate"],
  ])("refuses a label with %s: 400 naming the field, nothing created", async (_name, label) => {
    const { res, keys } = await create(label);
    expect(res.status).toBe(400);
    const body = (await res.json()) as { code: string; field: string; message: string };
    expect(body).toMatchObject({ code: "INVALID_REQUEST", field: "label" });
    expect(body.message).toMatch(/^label: must not contain control characters/);
    expect(keys).toEqual([]);
  });

  it("accepts letters and symbols of any script", async () => {
    const { res } = await create("Café ☕ 用户 — billing");
    expect(res.status).toBe(201);
  });
});

describe("22. the context token is bound to the query too", () => {
  it("does not verify at the origin for the same path with other parameters", async () => {
    const h = harness();
    const { key } = await seedKey();
    expect((await h.call(key, "/v1/pay?amount=1&to=a%20b&q=用户")).status).toBe(200);
    const forwarded = h.calls.origin[0] as Request;
    const jwks = createLocalJWKSet(await (await h.send("/_keyward/.well-known/jwks.json")).json());
    await expect(verifyKeywardContext(forwarded, { jwks })).resolves.toMatchObject({ user: null });
    const token = forwarded.headers.get("x-keyward-context") as string;
    const replay = (query: string) => new Request(`http://origin.test/v1/pay${query}`, { headers: { "x-keyward-context": token } });
    await expect(verifyKeywardContext(replay("?amount=1000&to=a%20b&q=用户"), { jwks })).rejects.toThrow(/another query string/);
    await expect(verifyKeywardContext(replay(""), { jwks })).rejects.toThrow(/another query string/);
    await expect(verifyKeywardContext(replay("?amount=1&to=a%20b&q=用户"), { jwks })).resolves.toMatchObject({ user: null });
  });
});
