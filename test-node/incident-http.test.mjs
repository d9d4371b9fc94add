// @ts-check
// Incident response over HTTP only, against Keyward under `wrangler dev`: GitHub
// secret scanning with a local public-keys document, leak reports, the kill
// switch, IP allow-lists as this machine's requests see them, and a webhook
// receiver on 127.0.0.1 verifying Standard Webhooks signatures.
import { createPrivateKey, sign } from "node:crypto";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { until } from "../test-support/until.mjs";
import { githubStandIn, sharedKeyward } from "./support/shared.mjs";
import { startWebhookReceiver } from "./support/webhook-receiver.mjs";

// GitHub's public keys document is served by test-support/shared-keyward.mjs, which the shared Keyward trusts.
const standIn = githubStandIn();
const github = { privateKey: createPrivateKey(standIn.privateKeyPem) };
const KEY_ID = standIn.keyId;
/** @type {Awaited<ReturnType<typeof startWebhookReceiver>>} */
let hooks;
const keyward = sharedKeyward();

beforeAll(async () => {
  hooks = await startWebhookReceiver();
});
afterAll(() => hooks?.close());

const newOrg = (name) => `org_${name}_${Date.now().toString(36)}${Math.floor(Math.random() * 1e6)}`;

async function admin(org, method, path, body) {
  const token = await keyward.adminToken(org);
  const res = await fetch(`${keyward.url}/_keyward/v1/orgs/${org}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: res.status === 204 ? null : await res.json() };
}

async function call(key, headers = {}) {
  const res = await fetch(`${keyward.url}/v1/things`, { headers: { authorization: `Bearer ${key}`, ...headers } });
  return { status: res.status, body: await res.json() };
}

function githubReport(body, signature) {
  return fetch(`${keyward.url}/_keyward/v1/leaks/github`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "github-public-key-identifier": KEY_ID,
      "github-public-key-signature": signature ?? sign("sha256", Buffer.from(body), github.privateKey).toString("base64"),
    },
    body,
  });
}

describe("incident response under wrangler dev, over HTTP", () => {
  it("GitHub secret scanning: a signed report revokes the key (next request 403 KEY_REVOKED), the feedback is exact, a wrong signature changes nothing", async () => {
    const org = newOrg("gh");
    const { body: leaked } = await admin(org, "POST", "/keys", { label: "leaked" });
    const { body: other } = await admin(org, "POST", "/keys", { label: "other" });
    expect((await call(leaked.key)).status).toBe(200);

    const forged = JSON.stringify([{ token: other.key, type: "keyward_api_key", url: "https://github.com/x/y", source: "content" }]);
    const bad = await githubReport(forged, sign("sha256", Buffer.from("something else"), github.privateKey).toString("base64"));
    expect(bad.status).toBe(400);
    expect((await call(other.key)).status).toBe(200);

    const url = "https://github.com/acme/app/blob/abc123/config.js";
    const body = JSON.stringify([
      { token: leaked.key, type: "keyward_api_key", url, source: "content" },
      { token: "sk_live_00000000000000000000000000000000deadbeef", type: "keyward_api_key", url, source: "content" },
    ]);
    const res = await githubReport(body);
    expect(res.status).toBe(200);
    const { createHash } = await import("node:crypto");
    const sha = (t) => createHash("sha256").update(t).digest("hex");
    expect(await res.json()).toEqual([
      { token_hash: sha(leaked.key), token_type: "keyward_api_key", label: "true_positive" },
      { token_hash: sha("sk_live_00000000000000000000000000000000deadbeef"), token_type: "keyward_api_key", label: "false_positive" },
    ]);
    const next = await call(leaked.key);
    expect(next.status).toBe(403);
    expect(next.body.code).toBe("KEY_REVOKED");
    const audit = await admin(org, "GET", "/audit");
    expect(audit.body.events.find((e) => e.action === "key.leaked")).toMatchObject({ actor: "secret-scanning:github", detail: { url } });
    expect(await (await fetch(standIn.fetchesUrl)).json()).toBe(1);
  });

  it("POST /leaks answers the same for a known and an unknown key, and revokes the known one", async () => {
    const org = newOrg("report");
    const { body: known } = await admin(org, "POST", "/keys", { label: "pasted" });
    const report = async (key) => {
      const res = await fetch(`${keyward.url}/_keyward/v1/leaks`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ key }),
      });
      return { status: res.status, body: await res.text() };
    };
    const a = await report(known.key);
    const b = await report("sk_live_0123456789abcdef0123456789abcdef01234567");
    expect(a).toEqual({ status: 202, body: '{"status":"received"}' });
    expect(b).toEqual(a);
    await until(async () => (await call(known.key)).status === 403, "the reported key to be refused");
  });

  it("the kill switch refuses a wrong confirm and revokes every key of the org", async () => {
    const org = newOrg("kill");
    const keys = [];
    for (let i = 0; i < 5; i++) keys.push((await admin(org, "POST", "/keys", { label: `k${i}` })).body.key);
    const wrong = await admin(org, "POST", "/keys/revoke-all", { confirm: `${org}x` });
    expect(wrong.status).toBe(400);
    expect(wrong.body.code).toBe("INVALID_REQUEST");
    expect((await call(keys[0])).status).toBe(200);
    const done = await admin(org, "POST", "/keys/revoke-all", { confirm: org });
    expect(done).toEqual({ status: 200, body: { revoked: 5, alreadyRevoked: 0 } });
    for (const key of keys) expect((await call(key)).status).toBe(403);
  });

  it("IP allow-lists: 203.0.113.0/24 refuses this machine even with X-Forwarded-For; 127.0.0.1/32 + ::1/128 admits it", async () => {
    const org = newOrg("ip");
    const { body: far } = await admin(org, "POST", "/keys", { label: "office", allowedIps: ["203.0.113.0/24"] });
    const refused = await call(far.key, { "x-forwarded-for": "203.0.113.7", "x-real-ip": "203.0.113.7", forwarded: "for=203.0.113.7" });
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe("IP_NOT_ALLOWED");
    const { body: near } = await admin(org, "POST", "/keys", { label: "here", allowedIps: ["127.0.0.1/32", "::1/128"] });
    expect(near.allowedIps).toEqual(["127.0.0.1/32", "::1/128"]);
    expect((await call(near.key)).status).toBe(200);
  });

  it("a webhook receiver on 127.0.0.1 gets key.created and key.revoked with Standard Webhooks signatures that verify", async () => {
    const org = newOrg("hook");
    const put = await admin(org, "PUT", "/webhook", { url: `${hooks.url}/keyward`, events: ["key.created", "key.revoked"] });
    expect(put.status).toBe(200);
    const { body: created } = await admin(org, "POST", "/keys", { label: "watched" });
    expect((await admin(org, "POST", `/keys/${created.id}/revoke`, {})).status).toBe(200);
    const mine = () => hooks.received.filter((r) => JSON.parse(r.body).data.org === org);
    await until(() => mine().length >= 2, "two webhook deliveries");
    const verifier = new Webhook(put.body.secret);
    const events = mine().map((r) => /** @type {{ type: string, data: unknown }} */ (verifier.verify(r.body, r.headers)));
    expect(events.map((e) => e.type).sort()).toEqual(["key.created", "key.revoked"]);
    for (const e of events) expect(e.data).toMatchObject({ org, keyId: created.id });
    // The receiver has both requests; the ledger records each as delivered once the receiver's answer is back,
    // a moment later (the deliveries list said ["pending", "delivered"] right after the second arrived, in a full run).
    const statuses = async () => (await admin(org, "GET", "/webhook/deliveries")).body.deliveries.map((d) => d.status);
    await until(async () => (await statuses()).every((s) => s === "delivered"), "both deliveries recorded as delivered");
    expect(await statuses()).toEqual(["delivered", "delivered"]);
  });
});
