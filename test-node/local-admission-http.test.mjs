// @ts-check
// Local admission over HTTP, against the shared Keyward under `wrangler dev`
// (development: X-Keyward-Dev-Location simulates three locations on one machine).
import { describe, expect, it } from "vitest";
import { sharedKeyward } from "./support/shared.mjs";

const keyward = sharedKeyward();
const OPERATOR = keyward.operatorToken;
const org = `org_local_${Date.now().toString(36)}`;
const LOCATIONS = ["SYD", "FRA", "IAD"];

/**
 * @param {string} method
 * @param {string} path
 * @param {{ body?: unknown, token?: string }} [options]
 */
async function api(method, path, { body, token } = {}) {
  const bearer = token ?? (await keyward.adminToken(org, "org:admin"));
  const res = await fetch(`${keyward.url}/_keyward/v1/orgs/${org}${path}`, {
    method,
    headers: { authorization: `Bearer ${bearer}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: await res.json() };
}

const call = (key, location) =>
  fetch(`${keyward.url}/v1/things`, { headers: { authorization: `Bearer ${key}`, "x-keyward-dev-location": location } }).then(async (r) => ({
    status: r.status,
    body: await r.json().catch(() => null),
  }));

describe("local admission under wrangler dev, over HTTP", () => {
  it("a local key limited to 100 per 60 s, hit by 240 concurrent requests over three locations, admits 90 to 100; after a revoke each location answers 403 KEY_REVOKED", async () => {
    const created = await api("POST", "/keys", { body: { label: "used worldwide" } });
    expect(created.status).toBe(201);
    const set = await api("PUT", `/keys/${created.body.id}/rate-limit`, { body: { limit: 100, windowSeconds: 60, admission: "local" }, token: OPERATOR });
    expect(set.status).toBe(200);
    expect(set.body.rateLimit).toEqual({ limit: 100, windowSeconds: 60, admission: "local" });

    const results = await Promise.all(Array.from({ length: 240 }, (_, i) => call(created.body.key, LOCATIONS[i % 3])));
    const admitted = results.filter((r) => r.status === 200).length;
    expect(admitted).toBeGreaterThanOrEqual(90);
    expect(admitted).toBeLessThanOrEqual(100);
    expect(results.filter((r) => r.status !== 200).every((r) => r.status === 429 && r.body.code === "RATE_LIMITED")).toBe(true);

    const revoked = await api("POST", `/keys/${created.body.id}/revoke`);
    expect(revoked.status).toBe(200);
    for (const location of LOCATIONS) {
      const next = await call(created.body.key, location);
      expect([next.status, next.body.code]).toEqual([403, "KEY_REVOKED"]);
    }
  });

  it("refuses an admission that is neither central nor local with 400 naming the field", async () => {
    const created = await api("POST", "/keys", { body: { label: "bad admission" } });
    const set = await api("PUT", `/keys/${created.body.id}/rate-limit`, { body: { limit: 10, windowSeconds: 60, admission: "nearby" }, token: OPERATOR });
    expect(set.status).toBe(400);
    expect(JSON.stringify(set.body)).toMatch(/admission/);
  });
});
