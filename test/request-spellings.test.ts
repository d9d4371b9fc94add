// What the fourth attack found on the request path (threats.md 71-72): spellings of
// a header name or a path segment that Keyward read one way and origins another.
// Each case asserts what the origin received, or that it was never called.
import { describe, expect, it } from "vitest";
import { isKeywardHeaderName } from "../src/proxy/forward";
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
