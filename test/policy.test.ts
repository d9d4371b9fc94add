// Route policies: validation at start-up with errors that point at the bad rule,
// deny by default, method lists, and path tricks that must never smuggle a request
// past a rule (each asserts the origin was called zero times).
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { compilePolicy } from "../src/authz/policy";
import { ConfigError } from "../src/config";
import worker from "../src/index";
import { harness, seedKey } from "./support/harness";
import { devToken } from "./support/tokens";

type Echo = { method: string; path: string };

const ORG = "org_acme";

describe("policy validation points at the rule and field at fault", () => {
  const ok = { method: "GET", path: "/a", permission: "a:read" };
  it.each<[string, unknown, RegExp]>([
    [
      "a path without a leading slash",
      { rules: [ok, ok, { ...ok, path: "customers" }] },
      /^Keyward configuration: keyward\.policy\.json rules\[2\]\.path: must start with \//,
    ],
    ["a * that is not the last segment", { rules: [ok, { ...ok, path: "/a/*/b" }] }, /rules\[1\]\.path: \* may only be the last segment/],
    ["a segment with a space", { rules: [{ ...ok, path: "/a b" }] }, /rules\[0\]\.path: segments must be literals, :params or a final \*/],
    ["an empty segment (//)", { rules: [{ ...ok, path: "/a//b" }] }, /rules\[0\]\.path: segments must be/],
    ["a trailing slash", { rules: [{ ...ok, path: "/a/" }] }, /rules\[0\]\.path: segments must be/],
    ["a dot segment", { rules: [{ ...ok, path: "/a/../b" }] }, /rules\[0\]\.path: /],
    ["a parameter named twice", { rules: [ok, { ...ok, path: "/a/:id/b/:id" }] }, /rules\[1\]\.path: .*:id.*twice/],
    [
      "an unknown method",
      { rules: [ok, ok, ok, { ...ok, method: "FETCH" }] },
      /rules\[3\]\.method: must be one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS or \*/,
    ],
    ["a lower-case method", { rules: [{ ...ok, method: "get" }] }, /rules\[0\]\.method: must be one of/],
    ["an empty method list", { rules: [{ ...ok, method: [] }] }, /rules\[0\]\.method/],
    ["a method list with a bad entry", { rules: [{ ...ok, method: ["GET", "BREW"] }] }, /rules\[0\]\.method/],
    ["a missing permission", { rules: [ok, { method: "GET", path: "/b" }] }, /rules\[1\]\.permission: /],
    ["a permission with a space", { rules: [{ ...ok, permission: "a read" }] }, /rules\[0\]\.permission: must be 1-64 letters/],
    ["a misspelt field", { rules: [ok, { ...ok, permisson: "x" }] }, /rules\[1\]: Unrecognized key: "permisson"/],
    [
      "a resource the path does not name",
      { rules: [{ ...ok, path: "/customers/:customerId", resource: "accountId" }] },
      /rules\[0\]\.resource: names a parameter the path does not have/,
    ],
    [
      "a resource that is only a prefix of a parameter",
      { rules: [{ ...ok, path: "/customers/:customerId", resource: "cust" }] },
      /rules\[0\]\.resource: names a parameter the path does not have/,
    ],
    ["rules that are not a list", { rules: "all" }, /rules: .*expected array/],
    ["no rules field at all", {}, /rules: /],
    ["an unknown top-level field", { rules: [], rule: [] }, /\(top level\): Unrecognized key: "rule"/],
    ["a bad preset permission", { rules: [], presets: { auditor: { permissions: ["ok", "not ok"] } } }, /presets\.auditor\.permissions\[1\]/],
    ["an array instead of an object", [], /\(top level\)/],
    ["a reserve of 0", { rules: [{ ...ok, reserve: 0 }] }, /rules\[0\]\.reserve: /],
    ["a fractional reserve", { rules: [{ ...ok, reserve: 2.5 }] }, /rules\[0\]\.reserve: must be a whole number/],
    ["a reserve beside a cost", { rules: [{ ...ok, reserve: 10, cost: 2 }] }, /rules\[0\]\.cost: cannot be given with reserve/],
    ["holdSeconds without reserve", { rules: [{ ...ok, holdSeconds: 60 }] }, /rules\[0\]\.holdSeconds: needs reserve/],
    ["chargeOn without reserve", { rules: [{ ...ok, chargeOn: "success" }] }, /rules\[0\]\.chargeOn: needs reserve/],
    ["a hold over a day", { rules: [{ ...ok, reserve: 1, holdSeconds: 86_401 }] }, /rules\[0\]\.holdSeconds: /],
    ["an unknown chargeOn", { rules: [{ ...ok, reserve: 1, chargeOn: "ok" }] }, /rules\[0\]\.chargeOn: must be "always" or "success"/],
  ])("refuses %s", (_name, file, message) => {
    let error: unknown;
    try {
      compilePolicy(file);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(message);
  });

  it("compiles a metered rule with its defaults (hold 300 s, charged always) and one that says otherwise", () => {
    const policy = compilePolicy({
      rules: [
        { method: "POST", path: "/v1/chat", permission: null, reserve: 4096 },
        { method: "POST", path: "/v1/embed", permission: null, reserve: 50, holdSeconds: 30, chargeOn: "success" },
      ],
    });
    expect(policy.match?.("POST", "/v1/chat")?.metering).toEqual({ reserve: 4096, holdSeconds: 300, chargeOn: "always" });
    expect(policy.match?.("POST", "/v1/embed")?.metering).toEqual({ reserve: 50, holdSeconds: 30, chargeOn: "success" });
  });

  it("names the ROUTE_POLICY variable when the policy came from it", () => {
    expect(() => compilePolicy({ rules: [{ method: "GET", path: "x", permission: null }] }, "ROUTE_POLICY")).toThrow(
      /^Keyward configuration: ROUTE_POLICY rules\[0\]\.path/,
    );
  });

  it("accepts a valid policy with method lists, *, public routes, presets and a roleClaim", () => {
    const policy = compilePolicy({
      $comment: "docs/policies.md",
      roleClaim: "app_role",
      presets: { auditor: { permissions: ["customers:read"] } },
      rules: [
        { method: ["GET", "HEAD"], path: "/customers/:customerId", permission: "customers:read", resource: "customerId" },
        { method: "*", path: "/public/*", permission: null },
        { method: "GET", path: "/", permission: null },
      ],
    });
    expect(policy.roleClaim).toBe("app_role");
    expect(policy.presets.auditor?.permissions).toEqual(["customers:read"]);
    expect(policy.presets.admin?.permissions).toContain("resources:all");
    expect(policy.match?.("HEAD", "/customers/cus_1")).toEqual({
      permission: "customers:read",
      resource: "customerId",
      params: { customerId: "cus_1" },
      cost: 1,
      metering: null,
    });
    expect(policy.match?.("POST", "/customers/cus_1")).toBeNull();
    expect(policy.match?.("DELETE", "/public/a/b")).toMatchObject({ permission: null });
    expect(policy.match?.("GET", "/public")).toBeNull();
    expect(policy.match?.("GET", "/")).toMatchObject({ permission: null });
  });

  it("stops the deployed Worker on a bad ROUTE_POLICY: every request 503, naming the rule", async () => {
    const bad = JSON.stringify({
      rules: [
        { method: "GET", path: "/ok", permission: null },
        { method: "GET", path: "/x/:id", permission: null, resource: "nope" },
      ],
    });
    const ctx = { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext;
    const res = await worker.fetch(new Request("https://keyward.test/ok"), { ...env, ROUTE_POLICY: bad }, ctx);
    expect(res.status).toBe(503);
    const body = (await res.json()) as { code: string; message: string };
    expect(body.code).toBe("AUTH_BACKEND_UNAVAILABLE");
    expect(body.message).toMatch(/ROUTE_POLICY rules\[1\]\.resource/);
  });
});

/** Customer API rules, a public wildcard, and the toy admin route. */
const POLICY = {
  rules: [
    { method: "GET", path: "/customers", permission: "customers:read" },
    { method: ["GET", "HEAD"], path: "/customers/:customerId", permission: "customers:read", resource: "customerId" },
    { method: ["PUT", "PATCH", "DELETE"], path: "/customers/:customerId", permission: "customers:write", resource: "customerId" },
    { method: "GET", path: "/customers/:customerId/invoices/*", permission: "customers:read", resource: "customerId" },
    { method: "*", path: "/public/*", permission: null },
  ],
};

/** A harness whose user tokens are dev HS256 tokens (the default test env has a dev secret). */
function setup(policy: unknown = POLICY) {
  const h = harness({ policy });
  const as = async (key: string, claims: Record<string, unknown>, path: string, init: RequestInit = {}) => {
    const token = await devToken({ org: ORG, role: "org:member", extra: claims });
    return h.send(path, { ...init, headers: { "x-api-key": key, authorization: `Bearer ${token}`, ...(init.headers as Record<string, string>) } });
  };
  return { h, as };
}

async function codeOf(res: Response) {
  return ((await res.json()) as { code: string }).code;
}

describe("deny by default", () => {
  it("denies a route no rule matches, for a key without a user token, without calling the origin", async () => {
    const { h } = setup();
    const { key } = await seedKey({ org: ORG });
    for (const path of ["/", "/admin", "/customersX", "/customers/cus_1/notes", "/public"]) {
      const res = await h.call(key, path);
      expect(res.status, path).toBe(403);
      expect(await codeOf(res)).toBe("INSUFFICIENT_PERMISSIONS");
    }
    expect(h.calls.origin).toHaveLength(0);
  });

  it("denies everything with an empty rule list", async () => {
    const { h, as } = setup({ rules: [] });
    const { key } = await seedKey({ org: ORG });
    expect((await h.call(key, "/anything")).status).toBe(403);
    expect((await as(key, { role: "admin" }, "/customers/cus_1")).status).toBe(403);
    expect(h.calls.origin).toHaveLength(0);
  });

  it("allows every route to a key with no rules configured (rules: null)", async () => {
    const { h } = setup({ rules: null });
    const { key } = await seedKey({ org: ORG });
    expect((await h.call(key, "/anything/at/all", { method: "DELETE" })).status).toBe(200);
    expect(h.calls.origin).toHaveLength(1);
  });

  it("lets a key without scopes and without a user token use every ruled route, and a scoped key only its scopes", async () => {
    const { h } = setup();
    const full = await seedKey({ org: ORG });
    expect((await h.call(full.key, "/customers/cus_7", { method: "DELETE" })).status).toBe(200);
    const readOnly = await seedKey({ org: ORG, scopes: ["customers:read"] });
    expect((await h.call(readOnly.key, "/customers")).status).toBe(200);
    expect((await h.call(readOnly.key, "/customers/cus_7", { method: "DELETE" })).status).toBe(403);
    // No resources:all in its scopes, and no user token to assign customers: no customer is reachable.
    expect((await h.call(readOnly.key, "/customers/cus_7")).status).toBe(403);
    expect(h.calls.origin).toHaveLength(2);
  });
});

describe("methods", () => {
  it("matches only the listed methods", async () => {
    const { h } = setup();
    const { key } = await seedKey({ org: ORG, limit: 100 });
    expect((await h.call(key, "/customers/cus_1", { method: "HEAD" })).status).toBe(200);
    for (const method of ["POST", "OPTIONS"]) {
      const res = await h.call(key, "/customers/cus_1", { method });
      expect(res.status, method).toBe(403);
    }
    expect((await h.call(key, "/customers", { method: "HEAD" })).status).toBe(403);
    expect(h.calls.origin).toHaveLength(1);
  });

  it("matches any method, even unusual ones, with *", async () => {
    const { h } = setup();
    const { key } = await seedKey({ org: ORG, limit: 100 });
    for (const method of ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "PROPFIND"]) {
      expect((await h.call(key, "/public/docs/a", { method })).status, method).toBe(200);
    }
    expect(h.calls.origin.map((r) => r.method)).toEqual(["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "PROPFIND"]);
  });

  it("judges a lower-case method as the method the origin receives", async () => {
    const { h, as } = setup();
    const { key } = await seedKey({ org: ORG });
    const denied = await as(key, { role: "support" }, "/customers/cus_1", { method: "patch" });
    expect(denied.status).toBe(403);
    expect(h.calls.origin).toHaveLength(0);
    const allowed = await as(key, { role: "limited", customer_ids: ["cus_1"] }, "/customers/cus_1", { method: "patch" });
    expect(allowed.status).toBe(200);
    expect(h.calls.origin.map((r) => r.method)).toEqual(["PATCH"]);
  });

  it.each([
    ["X-HTTP-Method-Override", { "x-http-method-override": "DELETE" }, "/customers/cus_1"],
    ["X-HTTP-Method", { "x-http-method": "PUT" }, "/customers/cus_1"],
    ["X-Method-Override", { "x-method-override": "patch" }, "/customers/cus_1"],
    ["a _method query parameter", {}, "/customers/cus_1?_method=DELETE"],
  ])("refuses a read that asks the origin to treat it as a write (%s)", async (_name, headers, path) => {
    const { h, as } = setup();
    const { key } = await seedKey({ org: ORG });
    const res = await as(key, { role: "support" }, path, { headers });
    expect(res.status).toBe(403);
    expect(await codeOf(res)).toBe("INSUFFICIENT_PERMISSIONS");
    expect(h.calls.origin).toHaveLength(0);
    // The same read without the override goes through.
    expect((await as(key, { role: "support" }, "/customers/cus_1")).status).toBe(200);
  });
});

describe("path tricks never smuggle a request past a rule", () => {
  // A limited user assigned cus_1 only: each trick tries to reach cus_2 (or an unruled path).
  const limited = { role: "limited", customer_ids: ["cus_1"] };

  it("serves the honest request, so the refusals below are about the trick", async () => {
    const { h, as } = setup();
    const { key } = await seedKey({ org: ORG });
    const res = await as(key, limited, "/customers/cus_1");
    expect(res.status).toBe(200);
    expect(((await res.json()) as Echo).path).toBe("/customers/cus_1");
    expect(h.calls.origin).toHaveLength(1);
  });

  it.each([
    ["/./", "/customers/./cus_2"],
    ["/../", "/customers/cus_1/../cus_2"],
    ["/./../", "/customers/cus_1/./../cus_2"],
    ["%2e%2e", "/customers/cus_1/%2e%2e/cus_2"],
    ["%2E%2e mixed case", "/customers/cus_1/%2E%2e/cus_2"],
    [".%2e", "/customers/cus_1/.%2e/cus_2"],
    ["%2e alone", "/customers/%2e/cus_2"],
    ["// at the start", "//customers/cus_2"],
    ["// in the middle", "/customers//cus_2"],
    ["a trailing slash", "/customers/cus_2/"],
    ["%2F in a param", "/customers/cus_1%2F..%2Fcus_2"],
    ["%2f lower case in a param", "/customers/cus_1%2f..%2fcus_2"],
    ["%2F alone as a param", "/customers/%2F"],
    ["%5C (backslash) in a param", "/customers/cus_1%5C..%5Ccus_2"],
    ["double encoding %252e%252e", "/customers/cus_1/%252e%252e/cus_2"],
    ["double-encoded slash %252F", "/customers/cus_1%252F..%252Fcus_2"],
    ["..; (matrix parameter dot segment)", "/customers/cus_1/..;/cus_2"],
    ["%00 in a param", "/customers/cus_1%00"],
    ["a bad percent-encoding", "/customers/cus_1%zz"],
    ["an upper-case literal", "/CUSTOMERS/cus_2"],
  ])("denies %s with the origin called zero times", async (_name, path) => {
    const { h, as } = setup();
    const { key } = await seedKey({ org: ORG });
    const res = await as(key, limited, path);
    expect(res.status).toBe(403);
    expect(h.calls.origin).toHaveLength(0);
  });

  it.each([
    ["..;/ out of a public wildcard", "/public/..;/customers/cus_2"],
    [".;/ in a public wildcard", "/public/.;/x"],
    ["%5C.. out of a public wildcard", "/public/..%5Ccustomers%5Ccus_2"],
    ["%252e%252e out of a public wildcard", "/public/%252e%252e/customers/cus_2"],
    ["%2F out of a public wildcard", "/public/..%2Fcustomers%2Fcus_2"],
    ["an empty segment in a public wildcard", "/public//customers/cus_2"],
  ])("denies %s, which an origin could resolve to a ruled path, with the origin called zero times", async (_name, path) => {
    const { h } = setup();
    // A key that may reach public routes but no customer (no resources:all, no user).
    const { key } = await seedKey({ org: ORG, scopes: ["customers:read"] });
    const res = await h.call(key, path);
    expect(res.status).toBe(403);
    expect(h.calls.origin).toHaveLength(0);
  });

  it("still serves an honest public wildcard path with dots and encoded characters in a name", async () => {
    const { h } = setup();
    const { key } = await seedKey({ org: ORG, scopes: ["customers:read"] });
    for (const path of ["/public/v1.2/file.tar.gz", "/public/a%20b", "/public/..."]) {
      expect((await h.call(key, path)).status, path).toBe(200);
    }
    // A ; is not honest any more (threats.md 72): Tomcat and Spring drop what follows it.
    expect((await h.call(key, "/public/a;b")).status).toBe(403);
    expect(h.calls.origin).toHaveLength(3);
  });

  it("checks the resource of a wildcard rule's parameter, and the origin receives exactly the judged path", async () => {
    const { h, as } = setup();
    const { key } = await seedKey({ org: ORG });
    const ok = await as(key, limited, "/customers/cus_1/invoices/2026/07?page=2");
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as Echo).path).toBe("/customers/cus_1/invoices/2026/07?page=2");
    expect((await as(key, limited, "/customers/cus_2/invoices/2026")).status).toBe(403);
    expect((await as(key, limited, "/customers/cus_1/invoices")).status).toBe(403);
    expect(h.calls.origin).toHaveLength(1);
  });

  it("reads a percent-encoded resource id as its decoded value", async () => {
    const { h, as } = setup();
    const { key } = await seedKey({ org: ORG });
    expect((await as(key, { role: "limited", customer_ids: ["cus 1"] }, "/customers/cus%201")).status).toBe(200);
    expect((await as(key, { role: "limited", customer_ids: ["cus%201"] }, "/customers/cus%201")).status).toBe(403);
    expect(h.calls.origin).toHaveLength(1);
  });
});

describe("a compiled policy keeps its route matches (decoded and matched once per method and path)", () => {
  const policy = compilePolicy({
    rules: [
      { method: "GET", path: "/customers/:customerId", permission: "customers:read", resource: "customerId" },
      { method: "POST", path: "/v1/chat", permission: null, reserve: 100 },
    ],
  });
  const match = policy.match as NonNullable<typeof policy.match>;

  it("answers a repeated method and path as the first time, denials and parameters included, and shares a frozen answer", () => {
    const first = match("GET", "/customers/c_1");
    expect(first).toMatchObject({ permission: "customers:read", resource: "customerId", params: { customerId: "c_1" } });
    expect(match("GET", "/customers/c_1")).toBe(first);
    expect(Object.isFrozen(first) && Object.isFrozen(first?.params)).toBe(true);
    expect(match("GET", "/customers/c_2")?.params).toEqual({ customerId: "c_2" });
    expect(match("POST", "/customers/c_1")).toBeNull();
    expect(match("POST", "/customers/c_1")).toBeNull();
    expect(match("GET", "/customers/a%2Fb")).toBeNull();
    expect(match("POST", "/v1/chat")?.metering).toEqual({ reserve: 100, holdSeconds: 300, chargeOn: "always" });
  });

  it("answers the same after more distinct paths than it keeps, and for paths too long to keep", () => {
    for (let i = 0; i < 1200; i++) expect(match("GET", `/customers/c${i}`)?.params).toEqual({ customerId: `c${i}` });
    expect(match("GET", "/customers/c_1")?.params).toEqual({ customerId: "c_1" });
    const long = `/customers/${"x".repeat(300)}`;
    expect(match("GET", long)?.params).toEqual({ customerId: "x".repeat(300) });
    expect(match("GET", `${long}/more`)).toBeNull();
  });
});
