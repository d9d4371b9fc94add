// @ts-check
// Usage monitoring over HTTP only, against Keyward under `wrangler dev` in front
// of the demo echo origin: counts in the minute buckets, and an anomaly raised by
// a guard's report alarm, listed, acknowledged by an admin and refused to a member.
import { describe, expect, it } from "vitest";
import { sharedKeyward } from "./support/shared.mjs";

const keyward = sharedKeyward();
const OPERATOR = keyward.operatorToken;

const org = `org_usage_${Date.now().toString(36)}`;

/**
 * @param {string} method
 * @param {string} path
 * @param {{ body?: unknown, role?: string, token?: string }} [options]
 */
async function api(method, path, { body, role = "org:admin", token } = {}) {
  const bearer = token ?? (await keyward.adminToken(org, role));
  const res = await fetch(`${keyward.url}/_keyward/v1/orgs/${org}${path}`, {
    method,
    headers: { authorization: `Bearer ${bearer}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: await res.json() };
}

const call = (key, headers = {}) => fetch(`${keyward.url}/v1/things`, { headers: { authorization: `Bearer ${key}`, ...headers } }).then((r) => r.status);

describe("usage monitoring under wrangler dev, over HTTP", () => {
  it("counts a key limited to 3 per 60 s that gets 6 requests: admitted 3, refused.RATE_LIMITED 3 in its minute buckets", async () => {
    const created = await api("POST", "/keys", { body: { label: "three a minute" } });
    expect(created.status).toBe(201);
    const limit = await api("PUT", `/keys/${created.body.id}/rate-limit`, { body: { limit: 3, windowSeconds: 60 }, token: OPERATOR });
    expect(limit.status).toBe(200);
    const statuses = [];
    for (let i = 0; i < 6; i++) statuses.push(await call(created.body.key));
    expect(statuses).toEqual([200, 200, 200, 429, 429, 429]);
    const usage = await api("GET", `/keys/${created.body.id}/usage?granularity=minute`);
    expect(usage.status).toBe(200);
    const admitted = usage.body.buckets.reduce((n, b) => n + b.admitted, 0);
    const rateLimited = usage.body.buckets.reduce((n, b) => n + (b.refused.RATE_LIMITED ?? 0), 0);
    expect({ admitted, rateLimited }).toEqual({ admitted: 3, rateLimited: 3 });
  });

  it("raises browser_use in the org's anomaly list within 90 s of a browser request; an admin acknowledges it, a member gets 403", async () => {
    const created = await api("POST", "/keys", { body: { label: "leaked into a web page" } });
    expect(await call(created.body.key, { origin: "https://example.com", "sec-fetch-mode": "cors" })).toBe(200);
    const started = Date.now();
    let flag;
    // The guard reports from its alarm, KEYWARD_DEV_REPORT_DELAY_MS (200 ms here, 5 s by default) after the first unreported request; poll the org view.
    while (Date.now() - started < 90_000) {
      const list = await api("GET", "/anomalies");
      expect(list.status).toBe(200);
      flag = list.body.anomalies.find((a) => a.type === "browser_use" && a.keyId === created.body.id);
      if (flag) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(flag).toBeDefined();
    expect(flag.message).toMatch(/browser/);
    const seconds = (Date.now() - started) / 1000;
    expect(seconds).toBeLessThan(90);

    const member = await api("POST", `/anomalies/${flag.id}/acknowledge`, { role: "org:member" });
    expect(member.status).toBe(403);
    expect(member.body.code).toBe("INSUFFICIENT_PERMISSIONS");
    const ack = await api("POST", `/anomalies/${flag.id}/acknowledge`);
    expect(ack.status).toBe(200);
    expect(ack.body.acknowledgedAt).not.toBeNull();
    expect((await api("GET", "/anomalies")).body.anomalies.some((a) => a.id === flag.id)).toBe(false);
    const audit = await api("GET", "/audit");
    expect(audit.body.events.some((e) => e.action === "anomaly.acknowledged")).toBe(true);
    console.log(`browser_use listed ${seconds.toFixed(1)} s after the request`);
  }, 120_000);
});
