// What the fourth attack found on the request path (threats.md 71-72): spellings of
// a header name or a path segment that Keyward read one way and origins another.
// Each case asserts what the origin received, or that it was never called.
import { describe, expect, it } from "vitest";
import { compilePolicy } from "../src/authz/policy";
import { isKeywardHeaderName } from "../src/proxy/forward";
import { adminClient, newOrg } from "./support/admin-client";
import { harness, seedKey } from "./support/harness";

type Echo = { method: string; path: string; headers: Record<string, string> };
const ORG = "org_acme";

describe("71. identity headers spelled with underscores never reach the origin", () => {
  it.each([
    ["X-Keyward_User", "admin"],
    ["X_Keyward_Org", "org_evil"],
    ["x-keyward_permissions", "customers:write"],
    ["X_KEYWARD_CONTEXT", "forged"],
    ["x_keyward-key-id", "key_evil"],
  ])("drops a client's %s, so a WSGI, Rack, PHP or CGI origin cannot read it as Keyward's", async (name, value) => {
    const h = harness();
    const { key, record } = await seedKey({ org: ORG });
    const res = await h.call(key, "/v1/things", { headers: { [name]: value, "x-custom_header": "kept" } });
    expect(res.status).toBe(200);
    const seen = (await res.json()) as Echo;
    // What such an origin would see: every name with `_` read as `-`.
    const asCgi = Object.keys(seen.headers).map((n) => n.replaceAll("_", "-"));
    expect(asCgi.filter((n) => n.startsWith("x-keyward-")).sort()).toEqual(
      ["x-keyward-context", "x-keyward-environment", "x-keyward-key-id", "x-keyward-org", "x-keyward-request-id"].sort(),
    );
    expect(Object.values(seen.headers)).not.toContain(value);
    expect(seen.headers["x-keyward-org"]).toBe(record.org);
    expect(seen.headers["x-custom_header"]).toBe("kept");
    expect(h.calls.origin).toHaveLength(1);
  });

  it("reads a name as an origin would: any case, `_` as `-`, and nothing else", () => {
    for (const name of ["x-keyward-user", "x_keyward_user", "x-keyward_org", "x_keyward-anything"]) expect(isKeywardHeaderName(name)).toBe(true);
    for (const name of ["x-keywarduser", "xkeyward-user", "x-api-key", "x_custom", "keyward-user", "x--keyward-user"]) {
      expect(isKeywardHeaderName(name)).toBe(false);
    }
  });
});

describe("72. route literals that origin routers read differently", () => {
  // A costly route and a permission rule before broad catch-alls, as the attack found them.
  const policy = {
    rules: [
      { method: "GET", path: "/v1/expensive", permission: null, cost: 10 },
      { method: "DELETE", path: "/v1/admin/:id", permission: "admin" },
      { method: "*", path: "/v1/*", permission: null },
    ],
  };
  /** A key with 1,000 credits: each route's cost shows in what the origin is told remains. */
  const withCredits = async () => {
    const client = adminClient({ policy });
    const created = await client.create(newOrg(), { credits: { remaining: 1000 } });
    return { h: client.h, key: created.key };
  };

  it.each(["/v1/EXPENSIVE", "/v1/Expensive", "/V1/expensive"])("charges %s the cost of /v1/expensive by default (caseSensitive false)", async (path) => {
    const { h, key } = await withCredits();
    const res = await h.call(key, path);
    expect(res.status).toBe(200);
    expect(((await res.json()) as Echo).headers["x-keyward-credits-remaining"]).toBe("990");
  });

  it("applies DELETE /v1/admin/:id's permission to /v1/ADMIN/1, passing the parameter as sent", async () => {
    const h = harness({ policy });
    const { key } = await seedKey({ org: ORG, scopes: ["read"] });
    const res = await h.call(key, "/v1/ADMIN/Ab1", { method: "DELETE" });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { code: string }).code).toBe("INSUFFICIENT_PERMISSIONS");
    expect(h.calls.origin).toHaveLength(0);
    const admin = await seedKey({ org: ORG, scopes: ["admin"] });
    expect((await h.call(admin.key, "/v1/ADMIN/Ab1", { method: "DELETE" })).status).toBe(200);
    expect(new URL((h.calls.origin[0] as Request).url).pathname).toBe("/v1/ADMIN/Ab1");
  });

  it("compares literals exactly with caseSensitive: true (for origins that tell /Admin from /admin)", async () => {
    const h = harness({ policy: { caseSensitive: true, rules: [{ method: "GET", path: "/v1/expensive", permission: null }] } });
    const { key } = await seedKey({ org: ORG });
    expect((await h.call(key, "/v1/expensive")).status).toBe(200);
    expect((await h.call(key, "/v1/EXPENSIVE")).status).toBe(403);
    expect(h.calls.origin).toHaveLength(1);
  });

  it.each(["/v1/expensive;a=b", "/v1/expensive;", "/v1/expensive%3Ba=b", "/v1/ok;jsessionid=1/x", "/v1/admin;x/1"])(
    "denies %s (a segment with ;, which Tomcat and Spring drop) without calling the origin",
    async (path) => {
      const h = harness({ policy });
      const { key } = await seedKey({ org: ORG, limit: 100 });
      for (const method of ["GET", "DELETE"]) {
        const res = await h.call(key, path, { method });
        expect(res.status, `${method} ${path}`).toBe(403);
        expect(((await res.json()) as { code: string }).code).toBe("INSUFFICIENT_PERMISSIONS");
      }
      expect(h.calls.origin).toHaveLength(0);
    },
  );

  it("refuses at start-up a rule literal with ; and a caseSensitive that is not a boolean", () => {
    expect(() => compilePolicy({ rules: [{ method: "GET", path: "/v1/a;b", permission: null }] })).toThrow(/rules\[0\]\.path: must not contain ;/);
    expect(() => compilePolicy({ caseSensitive: "yes", rules: [] })).toThrow(/caseSensitive: must be true or false/);
  });
});
