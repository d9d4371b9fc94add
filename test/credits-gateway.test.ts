import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { createLocalJWKSet } from "jose";
import { describe, expect, it } from "vitest";
import { compilePolicy } from "../src/authz/policy";
import { ConfigError } from "../src/config";
import { KeyGuard } from "../src/guard/key-guard";
import { randomId } from "../src/keys/key-format";
import { verifyKeywardContext } from "../src/origin/verify-context";
import { adminClient, adminHeaders, codeOf, newOrg, operatorHeaders } from "./support/admin-client";
import { guardStub, harness } from "./support/harness";

type Credits = { remaining: number; refill: unknown; nextRefillAt: string | null } | null;

/** A key with credits and a limit high enough that only the credits refuse. */
async function keyWithCredits(client: ReturnType<typeof adminClient>, credits: Record<string, unknown>, limit = 100_000) {
  const org = newOrg();
  const created = await client.create(org, { credits });
  const res = await client.api(`/orgs/${org}/keys/${created.id}/rate-limit`, {
    method: "PUT",
    headers: operatorHeaders(),
    body: JSON.stringify({ limit, windowSeconds: 60 }),
  });
  expect(res.status).toBe(200);
  return { org, ...created };
}

async function balance(client: ReturnType<typeof adminClient>, org: string, id: string): Promise<Credits> {
  const res = await client.api(`/orgs/${org}/keys/${id}`, { headers: await adminHeaders(org) });
  return ((await res.json()) as { credits: Credits }).credits;
}

describe("credits through the gateway", () => {
  it("admits exactly 100 of 1,000 concurrent requests on a key with 100 credits, and the origin sees exactly 100", async () => {
    const client = adminClient();
    const { key } = await keyWithCredits(client, { remaining: 100 });
    const statuses = await Promise.all(Array.from({ length: 1000 }, () => client.h.call(key).then((r) => r.status)));
    expect(statuses.filter((s) => s === 200)).toHaveLength(100);
    expect(statuses.filter((s) => s === 429)).toHaveLength(900);
    expect(client.h.calls.origin).toHaveLength(100);
    const last = await client.h.call(key);
    expect(await codeOf(last)).toBe("QUOTA_EXCEEDED");
    expect(last.headers.get("retry-after")).toBeNull(); // no refill: no time to come back at
    expect(client.h.calls.origin).toHaveLength(100);
  });

  it("admits a cost-10 route twice from 25 credits; a cost-0 route still works at the end", async () => {
    const policy = {
      rules: [
        { method: "POST", path: "/v1/generate", permission: null, cost: 10 },
        { method: "GET", path: "/v1/models", permission: null, cost: 0 },
      ],
    };
    const client = adminClient({ policy });
    const { org, id, key } = await keyWithCredits(client, { remaining: 25 });
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await client.h.call(key, "/v1/generate", { method: "POST" })).status);
    expect(statuses).toEqual([200, 200, 429, 429]);
    expect((await client.h.call(key, "/v1/models")).status).toBe(200);
    expect(client.h.calls.origin).toHaveLength(3);
    expect((await balance(client, org, id))?.remaining).toBe(5);
  });

  it("says when the next refill is, with Retry-After to it, and the quota policy beside the window's", async () => {
    const client = adminClient();
    const { key } = await keyWithCredits(client, { remaining: 1, refill: { interval: "daily", amount: 50 } });
    const ok = await client.h.call(key);
    expect(ok.status).toBe(200);
    expect(ok.headers.get("ratelimit-policy")).toBe('"default";q=100000;w=60, "quota";q=50');
    const now = Date.now();
    const midnight = Date.UTC(new Date(now).getUTCFullYear(), new Date(now).getUTCMonth(), new Date(now).getUTCDate() + 1);
    expect(ok.headers.get("ratelimit")).toMatch(/^"default";r=99999;t=\d+, "quota";r=0;t=\d+$/);
    const refused = await client.h.call(key);
    expect(refused.status).toBe(429);
    const body = (await refused.json()) as { code: string; message: string };
    expect(body.code).toBe("QUOTA_EXCEEDED");
    expect(body.message).toContain(`refilled to 50 at ${new Date(midnight).toISOString()}`);
    const retryAfter = Number(refused.headers.get("retry-after"));
    expect(Math.abs(retryAfter - Math.ceil((midnight - now) / 1000))).toBeLessThanOrEqual(2);
    expect(refused.headers.get("ratelimit")).toMatch(/^"quota";r=0;t=\d+$/);
  });

  it("refills when the refill instant has passed (a guard given credits last refilled two days ago)", async () => {
    const keyId = randomId("key");
    const twoDaysAgo = Date.now() - 2 * 86_400_000;
    const settings = {
      keyId,
      version: 1,
      limit: 1000,
      windowSeconds: 60,
      expiresAt: null,
      revoked: false,
      revokeAt: null,
      credits: { remaining: 0, refill: { interval: "daily" as const, amount: 3, refillDay: null }, refilledAt: twoDaysAgo },
    };
    const stub = guardStub(keyId);
    const kinds = [];
    for (let i = 0; i < 4; i++) kinds.push((await stub.check({ requestId: crypto.randomUUID(), consume: true, settings })).kind);
    expect(kinds).toEqual(["admitted", "admitted", "admitted", "exhausted"]);
  });

  it("counts a refusal for credits nowhere, and spends nothing on a refusal by the window", async () => {
    const client = adminClient();
    const { org, id, key } = await keyWithCredits(client, { remaining: 10 }, 3);
    const first = [];
    for (let i = 0; i < 5; i++) first.push(await codeOf(await client.h.call(key)).catch(() => "OK"));
    expect(first.filter((c) => c === "RATE_LIMITED")).toHaveLength(2);
    expect((await balance(client, org, id))?.remaining).toBe(7);

    const second = await keyWithCredits(client, { remaining: 2 }, 5);
    for (let i = 0; i < 2; i++) expect((await client.h.call(second.key)).status).toBe(200);
    for (let i = 0; i < 3; i++) expect(await codeOf(await client.h.call(second.key))).toBe("QUOTA_EXCEEDED");
    await client.post(second.org, `/keys/${second.id}/credits`, { operation: "increment", value: 5 }, operatorHeaders());
    // The three refusals took no place in the window of 5: three more fit, then the window refuses.
    const after = [];
    for (let i = 0; i < 4; i++) after.push((await client.h.call(second.key)).status);
    expect(after).toEqual([200, 200, 200, 429]);
  });

  it("never loses or double-counts set, increment and decrement raced against traffic", async () => {
    const client = adminClient();
    const { org, id, key } = await keyWithCredits(client, { remaining: 1000 });
    const traffic = Array.from({ length: 300 }, () => client.h.call(key).then((r) => r.status));
    const changes = [
      ...Array.from({ length: 20 }, () => client.post(org, `/keys/${id}/credits`, { operation: "increment", value: 5 }, operatorHeaders())),
      ...Array.from({ length: 10 }, () => client.post(org, `/keys/${id}/credits`, { operation: "decrement", value: 3 })),
    ];
    const [statuses, answers] = await Promise.all([Promise.all(traffic), Promise.all(changes)]);
    expect(answers.every((r) => r.status === 200)).toBe(true);
    const admitted = statuses.filter((s) => s === 200).length;
    expect(admitted).toBe(300);
    expect(client.h.calls.origin).toHaveLength(300);
    expect((await balance(client, org, id))?.remaining).toBe(1000 + 100 - 30 - admitted);
    // set during traffic: every admission after the set is taken from the new value.
    const more = Array.from({ length: 50 }, () => client.h.call(key).then((r) => r.status));
    const set = client.post(org, `/keys/${id}/credits`, { operation: "set", value: 20 }, operatorHeaders());
    const [moreStatuses, setAnswer] = await Promise.all([Promise.all(more), set]);
    const setBalance = ((await setAnswer.json()) as { credits: Credits })?.credits?.remaining as number;
    const end = (await balance(client, org, id))?.remaining as number;
    expect(setBalance).toBeLessThanOrEqual(20);
    expect(20 - end).toBeLessThanOrEqual(moreStatuses.filter((s) => s === 200).length);
  });

  it("cannot have spent credits restored by a stale KV record, a newer admin change, or a restart", async () => {
    const client = adminClient();
    const { org, id, key } = await keyWithCredits(client, { remaining: 10 });
    const stale = await client.kvRecord(key);
    for (let i = 0; i < 4; i++) expect((await client.h.call(key)).status).toBe(200);
    await stale.put();
    const other = harness();
    expect((await other.call(key)).status).toBe(200);
    // A limit change sends the ledger's settings (balance 10 as of creation) with a newer version.
    await client.api(`/orgs/${org}/keys/${id}/rate-limit`, {
      method: "PUT",
      headers: operatorHeaders(),
      body: JSON.stringify({ limit: 500, windowSeconds: 60 }),
    });
    await runInDurableObject(guardStub(id), (g: KeyGuard) => KeyGuard.hooks(g).flush());
    await evictDurableObject(guardStub(id));
    const statuses = [];
    for (let i = 0; i < 7; i++) statuses.push((await other.call(key)).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429]);
  });

  it("tells the origin the balance left, as a header and in the signed context", async () => {
    const client = adminClient();
    const { key } = await keyWithCredits(client, { remaining: 10 });
    await client.h.call(key);
    const seen = client.h.calls.origin[0] as Request;
    expect(seen.headers.get("x-keyward-credits-remaining")).toBe("9");
    const who = await verifyKeywardContext(seen, { jwks: createLocalJWKSet(await jwksOf(client)) });
    expect(who.creditsRemaining).toBe(9);
    const unlimited = await client.create(newOrg());
    await client.h.call(unlimited.key);
    const plain = client.h.calls.origin[1] as Request;
    expect(plain.headers.get("x-keyward-credits-remaining")).toBeNull();
  });

  it("makes a key unlimited with set and no value, clearing the refill; increment of an unlimited key is a 400", async () => {
    const client = adminClient();
    const { org, id, key } = await keyWithCredits(client, { remaining: 0, refill: { interval: "monthly", amount: 5, refillDay: 31 } });
    expect(await codeOf(await client.h.call(key))).toBe("QUOTA_EXCEEDED");
    const res = await client.post(org, `/keys/${id}/credits`, { operation: "set" }, operatorHeaders());
    expect(((await res.json()) as { credits: Credits }).credits).toBeNull();
    const ok = await client.h.call(key);
    expect(ok.status).toBe(200);
    expect(ok.headers.get("ratelimit-policy")).not.toContain("quota");
    const bad = await client.post(org, `/keys/${id}/credits`, { operation: "increment", value: 1 }, operatorHeaders());
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { field: string }).field).toBe("operation");
    const events = await client.events(org);
    expect(events.filter((e) => e.action === "key.credits_changed")).toHaveLength(1);
  });

  it.each([
    [{ credits: { remaining: -1 } }, "credits.remaining"],
    [{ credits: { remaining: 1.5 } }, "credits.remaining"],
    [{ credits: { remaining: 5, refill: { interval: "daily", amount: 5, refillDay: 3 } } }, "credits.refill.refillDay"],
    [{ credits: { remaining: 5, refill: { interval: "monthly", amount: 5, refillDay: 32 } } }, "credits.refill.refillDay"],
    [{ credits: { remaining: 5, refill: { interval: "weekly", amount: 5 } } }, "credits.refill.interval"],
  ])("refuses bad credits at creation with 400 naming the field (%j)", async (body, field) => {
    const client = adminClient();
    const org = newOrg();
    const res = await client.post(org, "/keys", { label: "x", ...body });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { field: string }).field).toBe(field);
  });

  it("refuses increment or decrement without a value, naming the field", async () => {
    const client = adminClient();
    const { org, id } = await keyWithCredits(client, { remaining: 3 });
    const res = await client.post(org, `/keys/${id}/credits`, { operation: "decrement" });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { field: string }).field).toBe("value");
  });
});

describe("cost in the route policy", () => {
  it.each([-1, 1.5, "10"])("refuses a cost of %j at start-up, naming the rule", (cost) => {
    expect(() => compilePolicy({ rules: [{ method: "GET", path: "/a", permission: null, cost }] })).toThrow(ConfigError);
    expect(() => compilePolicy({ rules: [{ method: "GET", path: "/a", permission: null, cost }] })).toThrow(/rules\[0\]\.cost/);
  });

  it("defaults to 1 and allows 0", () => {
    const policy = compilePolicy({
      rules: [
        { method: "GET", path: "/a", permission: null },
        { method: "GET", path: "/b", permission: null, cost: 0 },
      ],
    });
    expect(policy.match?.("GET", "/a")?.cost).toBe(1);
    expect(policy.match?.("GET", "/b")?.cost).toBe(0);
  });
});

async function jwksOf(client: ReturnType<typeof adminClient>) {
  return (await (await client.h.send("/_keyward/.well-known/jwks.json")).json()) as Parameters<typeof createLocalJWKSet>[0];
}
