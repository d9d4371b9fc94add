// Metered routes over HTTP only (docs/metering.md): the shared Keyward under
// `wrangler dev` (test-support/shared-keyward.mjs), whose route policy meters
// three routes of its origin (test-support/metered-origin.mjs: it reports what
// each answer cost, streams, and fails); and a webhook receiver on 127.0.0.1 for
// the low-balance event.
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { until } from "../test-support/until.mjs";
import { meteredOriginState, sharedKeyward } from "./support/shared.mjs";
import { startWebhookReceiver } from "./support/webhook-receiver.mjs";

const keyward = sharedKeyward();
/** @type {Awaited<ReturnType<typeof startWebhookReceiver>>} */
let hooks;
beforeAll(async () => {
  hooks = await startWebhookReceiver();
});
afterAll(() => {
  hooks?.close();
});

const org = `org_meter_${Date.now().toString(36)}`;

async function operator(method, path, body) {
  const res = await fetch(`${keyward.url}/_keyward/v1/orgs/${org}${path}`, {
    method,
    headers: { authorization: `Bearer ${keyward.operatorToken}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: res.status === 204 ? null : await res.json() };
}

const post = (key, path) => fetch(`${keyward.url}${path}`, { method: "POST", headers: { authorization: `Bearer ${key}` } });

/** The key's live balance, once it has come to `expected` (settlement from a header is told to the guard after the answer). */
async function balanceComesTo(id, expected) {
  let remaining;
  for (let i = 0; i < 50; i++) {
    remaining = (await operator("GET", `/keys/${id}`)).body.credits.remaining;
    if (remaining === expected) return remaining;
    await new Promise((r) => setTimeout(r, 100));
  }
  return remaining;
}

const settle = (token, charge) =>
  fetch(`${keyward.url}/_keyward/v1/settle`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ charge }),
  });

describe("metered routes under wrangler dev, over HTTP", () => {
  it("charges what the origin's Keyward-Charge says, which the client never sees", async () => {
    const created = await operator("POST", "/keys", { label: "chat", credits: { remaining: 1000 } });
    expect(created.status).toBe(201);
    const res = await post(created.body.key, "/v1/chat?charge=17");
    expect(res.status).toBe(200);
    expect(res.headers.get("keyward-charge")).toBeNull();
    expect((await res.json()).answer).toBe("hello");
    expect(await balanceComesTo(created.body.id, 983)).toBe(983);
  });

  it("streams server-sent events through, then settles the stream later with its context token, exactly once", async () => {
    const created = await operator("POST", "/keys", { label: "stream", credits: { remaining: 1000 } });
    const res = await post(created.body.key, "/v1/stream");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    const events = (await res.text()).split("\n\n").filter(Boolean);
    expect(events).toEqual(['data: {"token":0}', 'data: {"token":1}', 'data: {"token":2}', "data: [DONE]"]);
    // The hold is open (reserve 200) until the origin settles it.
    expect(await balanceComesTo(created.body.id, 800)).toBe(800);
    const token = (await meteredOriginState()).lastContext;
    const first = await settle(token, 120);
    expect(first.status).toBe(200);
    expect(await first.json()).toMatchObject({ charged: 120, uncharged: 0, repeated: false });
    const again = await settle(token, 999);
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ charged: 120, repeated: true });
    expect(await balanceComesTo(created.body.id, 880)).toBe(880);
    const forged = await settle(`${token.slice(0, -6)}AAAAAA`, 1);
    expect(forged.status).toBe(401);
  });

  it("with chargeOn success, passes an origin 500 through and charges nothing", async () => {
    const created = await operator("POST", "/keys", { label: "fail", credits: { remaining: 100 } });
    const before = (await meteredOriginState()).calls;
    for (let i = 0; i < 3; i++) expect((await post(created.body.key, "/v1/fail")).status).toBe(500);
    expect((await meteredOriginState()).calls - before).toBe(3);
    await new Promise((r) => setTimeout(r, 300));
    expect(await balanceComesTo(created.body.id, 100)).toBe(100);
  });

  it("delivers one signed credits.low to the org's webhook when a key's balance falls below its alertBelow, not again while it stays below", async () => {
    const hook = await operator("PUT", "/webhook", { url: `${hooks.url}/hooks`, events: ["credits.low", "credits.exhausted"] });
    expect(hook.status).toBe(200);
    const created = await operator("POST", "/keys", { label: "low", credits: { remaining: 1000, alertBelow: 500 } });
    expect(created.status).toBe(201);
    const mine = () => hooks.received.filter((r) => JSON.parse(r.body).data?.keyId === created.body.id);
    // 1000 -> 700: still above; 700 -> 400: crosses 500; 400 -> 300: still below, no second event.
    for (const [charge, balance] of [
      [300, 700],
      [300, 400],
      [100, 300],
    ]) {
      expect((await post(created.body.key, `/v1/chat?charge=${charge}`)).status).toBe(200);
      expect(await balanceComesTo(created.body.id, balance)).toBe(balance);
    }
    await until(() => mine().length >= 1, "a credits.low delivery");
    // Every event the ledger took is in its delivery log; wait until none is left pending, then count.
    const deliveries = await until(async () => {
      const list = (await operator("GET", "/webhook/deliveries")).body.deliveries;
      return list.length > 0 && list.every((d) => d.status === "delivered") && list;
    }, "the delivery log to settle");
    expect(deliveries).toHaveLength(1);
    expect(mine()).toHaveLength(1);
    const verifier = new Webhook(hook.body.secret);
    const event = /** @type {{ type: string, data: Record<string, unknown> }} */ (verifier.verify(mine()[0].body, mine()[0].headers));
    expect(event.type).toBe("credits.low");
    expect(event.data).toMatchObject({ org, keyId: created.body.id, scope: "key", remaining: 400, alertBelow: 500 });
    // A forged signature does not verify: the receiver can tell Keyward's deliveries apart.
    expect(() => verifier.verify(mine()[0].body, { ...mine()[0].headers, "webhook-signature": "v1,AAAA" })).toThrow();
  });
});
