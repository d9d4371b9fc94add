// @ts-check
// Plans over HTTP only, against Keyward under `wrangler dev` in front of the demo
// echo origin: credits, metadata and suspension as a client and an origin see them.
import { describe, expect, it } from "vitest";
import { sharedKeyward } from "./support/shared.mjs";

const keyward = sharedKeyward();

const org = `org_plans_${Date.now().toString(36)}`;

async function admin(method, path, body, token) {
  token ??= await keyward.adminToken(org);
  const res = await fetch(`${keyward.url}/_keyward/v1/orgs/${org}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: await res.json() };
}

/** The seller's backend: credits are a grant of money, the operator's (src/admin/money-grants.ts). */
const operator = (method, path, body) => admin(method, path, body, keyward.operatorToken);

/** One request through Keyward; the echo origin's answer says what it received. */
async function call(key) {
  const res = await fetch(`${keyward.url}/v1/things`, { headers: { authorization: `Bearer ${key}` } });
  return { status: res.status, headers: res.headers, body: await res.json() };
}

const decodeMeta = (value) => JSON.parse(Buffer.from(value, "base64url").toString("utf8"));

describe("plans under wrangler dev, over HTTP", () => {
  it("answers a key with 5 credits 5 times from the origin, then 429 QUOTA_EXCEEDED; an increment of 2 admits 2 more at once", async () => {
    const created = await operator("POST", "/keys", { label: "five credits", credits: { remaining: 5 } });
    expect(created.status).toBe(201);
    const seen = [];
    for (let i = 0; i < 5; i++) {
      const r = await call(created.body.key);
      expect(r.status).toBe(200);
      seen.push(r.body.headers["x-keyward-credits-remaining"]);
    }
    expect(seen).toEqual(["4", "3", "2", "1", "0"]);
    const refused = await call(created.body.key);
    expect(refused.status).toBe(429);
    expect(refused.body.code).toBe("QUOTA_EXCEEDED");
    expect(refused.body.headers).toBeUndefined(); // Keyward's error body, not the origin's echo
    const inc = await operator("POST", `/keys/${created.body.id}/credits`, { operation: "increment", value: 2 });
    expect(inc.status).toBe(200);
    expect(inc.body.credits.remaining).toBe(2);
    const after = [];
    for (let i = 0; i < 3; i++) after.push((await call(created.body.key)).status);
    expect(after).toEqual([200, 200, 429]);
  });

  it("shows a key's meta to the origin, and a PATCHed meta on the very next request", async () => {
    const created = await admin("POST", "/keys", { label: "with meta", meta: { plan: "pro", customerId: "cus_1" } });
    const first = await call(created.body.key);
    expect(first.status).toBe(200);
    expect(decodeMeta(first.body.headers["x-keyward-meta"])).toEqual({ plan: "pro", customerId: "cus_1" });
    const patched = await admin("PATCH", `/keys/${created.body.id}`, { meta: { plan: "enterprise" } });
    expect(patched.status).toBe(200);
    const next = await call(created.body.key);
    expect(decodeMeta(next.body.headers["x-keyward-meta"])).toEqual({ plan: "enterprise" });
  });

  it("answers 403 KEY_DISABLED on the next request after disable, and the key works again after enable", async () => {
    const created = await admin("POST", "/keys", { label: "suspend me" });
    expect((await call(created.body.key)).status).toBe(200);
    expect((await admin("POST", `/keys/${created.body.id}/disable`, {})).status).toBe(200);
    const refused = await call(created.body.key);
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe("KEY_DISABLED");
    expect((await admin("POST", `/keys/${created.body.id}/enable`, {})).status).toBe(200);
    const back = await call(created.body.key);
    expect(back.status).toBe(200);
    expect(back.body.path).toBe("/v1/things");
  });
});
