import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { KeyGuard } from "../src/guard/key-guard";
import { orgGuardName } from "../src/guard/org-limit";
import { adminClient, adminHeaders, codeOf, newOrg, operatorHeaders, paidKey } from "./support/admin-client";
import { guardStub, type HarnessOptions } from "./support/harness";

/** Metered routes (docs/metering.md): holds at admission, settled from the response, later, or by expiry. */
const POLICY = {
  rules: [
    { method: "POST", path: "/v1/chat", permission: null, reserve: 100, holdSeconds: 60 },
    { method: "POST", path: "/v1/embed", permission: null, reserve: 50, holdSeconds: 60, chargeOn: "success" },
    { method: "GET", path: "/v1/models", permission: null, cost: 1 },
  ],
};

type Status = { credits: { remaining: number } | null; holdsOpen: number; holdsPeak: number; orgCalls: number };

/** A client whose origin answers with `charge` in Keyward-Charge (null: none) and `status`. */
function metered(answer: { charge?: string | null; status?: number } = {}, options: HarnessOptions = {}) {
  return adminClient({
    policy: POLICY,
    origin: (request) => {
      const headers = new Headers({ "content-type": "application/json" });
      if (answer.charge != null) headers.set("keyward-charge", answer.charge);
      return new Response(JSON.stringify({ path: new URL(request.url).pathname }), { status: answer.status ?? 200, headers });
    },
    ...options,
  });
}

/** The guard's own status (version 0: the guard's state wins over these settings). */
const statusOf = async (id: string) =>
  (await runInDurableObject(guardStub(id), (g: KeyGuard) =>
    g.describe({ keyId: id, version: 0, limit: 1, windowSeconds: 1, expiresAt: null, revoked: false, revokeAt: null }),
  )) as unknown as Status;

async function settleWith(client: ReturnType<typeof adminClient>, token: string, charge: unknown) {
  return client.h.send("/_keyward/v1/settle", {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ charge }),
  });
}

const chat = (client: ReturnType<typeof adminClient>, key: string) => client.h.call(key, "/v1/chat", { method: "POST" });

describe("holds against a key's credits", () => {
  it("admits exactly 100 of 1,000 concurrent reserve-100 requests on 10,000 credits, and the balance ends at 10,000 minus the settled charges", async () => {
    const client = metered();
    const { id, key } = await paidKey(client, 10_000);
    const statuses = await Promise.all(Array.from({ length: 1000 }, () => chat(client, key).then((r) => r.status)));
    expect(statuses.filter((s) => s === 200)).toHaveLength(100);
    expect(client.h.calls.origin).toHaveLength(100);
    expect(await statusOf(id)).toMatchObject({ holdsOpen: 100, holdsPeak: 100, credits: { remaining: 0 } });
    // The origin settles each later with the context token it received.
    const charges = client.h.calls.origin.map((_, i) => (i * 37) % 101);
    const answers = await Promise.all(client.h.calls.origin.map((r, i) => settleWith(client, r.headers.get("x-keyward-context") as string, charges[i])));
    expect(answers.map((r) => r.status)).toEqual(Array(100).fill(200));
    const sum = charges.reduce((a, b) => a + b, 0);
    expect(await statusOf(id)).toMatchObject({ holdsOpen: 0, holdsPeak: 100, credits: { remaining: 10_000 - sum } });
  });

  it("settles from the Keyward-Charge header, strips it, never holds more than the balance allows, and ends at the start minus what was charged", async () => {
    const client = metered({ charge: "25" });
    const { id, key } = await paidKey(client, 10_000);
    const responses = await Promise.all(Array.from({ length: 1000 }, () => chat(client, key)));
    await client.h.settle();
    const admitted = responses.filter((r) => r.status === 200);
    expect(admitted.every((r) => r.headers.get("keyward-charge") === null)).toBe(true);
    expect(client.h.calls.origin).toHaveLength(admitted.length);
    const status = await statusOf(id);
    expect(status.holdsOpen).toBe(0);
    expect(status.holdsPeak).toBeLessThanOrEqual(100);
    expect(status.credits?.remaining).toBe(10_000 - 25 * admitted.length);
  });

  it("charges above the reserve only as far as the balance goes (never below zero), and says so", async () => {
    const client = metered();
    const { id, key } = await paidKey(client, 150);
    expect((await chat(client, key)).status).toBe(200);
    const token = client.h.calls.origin[0]?.headers.get("x-keyward-context") as string;
    const res = await settleWith(client, token, 400);
    expect(await res.json()).toMatchObject({ charged: 150, uncharged: 250, repeated: false });
    expect((await statusOf(id)).credits?.remaining).toBe(0);
  });

  it("settles a hold exactly once: a repeat answers the first settlement and changes nothing; a bad token is 401 and a bad charge 400", async () => {
    const client = metered();
    const { id, key } = await paidKey(client, 1000);
    await chat(client, key);
    const token = client.h.calls.origin[0]?.headers.get("x-keyward-context") as string;
    expect(await (await settleWith(client, token, 30)).json()).toMatchObject({ charged: 30, repeated: false });
    expect(await (await settleWith(client, token, 90)).json()).toMatchObject({ charged: 30, repeated: true });
    expect((await statusOf(id)).credits?.remaining).toBe(970);
    const [head, body, sig] = token.split(".") as [string, string, string];
    const forged = `${head}.${body}.${sig.slice(0, -4)}AAAA`;
    const bad = await settleWith(client, forged, 0);
    expect(bad.status).toBe(401);
    expect(await codeOf(bad)).toBe("INVALID_USER_TOKEN");
    for (const charge of [-1, 1.5, "3", null]) {
      const res = await settleWith(client, token, charge);
      expect({ charge, status: res.status, field: ((await res.json()) as { field?: string }).field }).toEqual({ charge, status: 400, field: "charge" });
    }
    expect((await statusOf(id)).credits?.remaining).toBe(970);
  });

  it("expires a hold never settled by the alarm (fake clock), charged its full reserve; a settle after is 409 HOLD_EXPIRED", async () => {
    const client = metered();
    const { id, key } = await paidKey(client, 1000);
    await chat(client, key);
    const token = client.h.calls.origin[0]?.headers.get("x-keyward-context") as string;
    await runInDurableObject(guardStub(id), (g: KeyGuard) => KeyGuard.hooks(g).runAlarm(Date.now() + 30_000));
    expect((await statusOf(id)).holdsOpen).toBe(1);
    await runInDurableObject(guardStub(id), (g: KeyGuard) => KeyGuard.hooks(g).runAlarm(Date.now() + 61_000));
    expect(await statusOf(id)).toMatchObject({ holdsOpen: 0, credits: { remaining: 900 } });
    const late = await settleWith(client, token, 10);
    expect(late.status).toBe(409);
    expect(await codeOf(late)).toBe("HOLD_EXPIRED");
    expect((await statusOf(id)).credits?.remaining).toBe(900);
  });

  it("lets exactly one of a settle and the expiry raced against it win, 20 times over", async () => {
    const client = metered();
    const { id, key } = await paidKey(client, 100_000);
    for (let i = 0; i < 20; i++) {
      await chat(client, key);
      const token = client.h.calls.origin[i]?.headers.get("x-keyward-context") as string;
      const before = (await statusOf(id)).credits?.remaining as number;
      const [settled] = await Promise.all([
        settleWith(client, token, 7),
        runInDurableObject(guardStub(id), (g: KeyGuard) => KeyGuard.hooks(g).runAlarm(Date.now() + 61_000)),
      ]);
      const after = (await statusOf(id)).credits?.remaining as number;
      if (settled.status === 200) expect(after - before).toBe(100 - 7);
      else {
        expect(settled.status).toBe(409);
        expect(after).toBe(before);
      }
    }
  });

  it("loses no open hold and charges none twice across a guard restart", async () => {
    const client = metered();
    const { id, key } = await paidKey(client, 1000);
    for (let i = 0; i < 5; i++) expect((await chat(client, key)).status).toBe(200);
    const tokens = client.h.calls.origin.map((r) => r.headers.get("x-keyward-context") as string);
    expect((await settleWith(client, tokens[0] as string, 10)).status).toBe(200);
    await evictDurableObject(guardStub(id));
    expect(await statusOf(id)).toMatchObject({ holdsOpen: 4, credits: { remaining: 590 } });
    for (const token of tokens) await settleWith(client, token, 10);
    await evictDurableObject(guardStub(id));
    expect(await statusOf(id)).toMatchObject({ holdsOpen: 0, credits: { remaining: 950 } });
    expect(await (await settleWith(client, tokens[1] as string, 99)).json()).toMatchObject({ charged: 10, repeated: true });
  });

  it("with chargeOn success, charges nothing and frees the hold for an origin 500", async () => {
    const client = metered({ status: 500, charge: "40" });
    const { id, key } = await paidKey(client, 100);
    for (let i = 0; i < 3; i++) expect((await client.h.call(key, "/v1/embed", { method: "POST" })).status).toBe(500);
    await client.h.settle();
    expect(await statusOf(id)).toMatchObject({ holdsOpen: 0, credits: { remaining: 100 } });
    expect(client.h.calls.origin).toHaveLength(3);
  });
});

describe("named windows", () => {
  const tpm = {
    limits: [
      { name: "rpm", limit: 1000, windowSeconds: 60, unit: "requests" },
      { name: "tpm", limit: 100, windowSeconds: 60, unit: "charge" },
    ],
  };

  it("refuses the third reserve-50 request charged 40 each in a charge window of 100, naming the window, and the origin is not called", async () => {
    const client = metered({ charge: "40" });
    const org = newOrg();
    const { id, key } = await client.create(org, { credits: { remaining: 1_000_000 } });
    const put = await client.api(`/orgs/${org}/keys/${id}/rate-limit`, { method: "PUT", headers: operatorHeaders(), body: JSON.stringify(tpm) });
    expect(put.status).toBe(200);
    expect(((await put.json()) as { limits: unknown }).limits).toEqual(tpm.limits);
    const tiny = (path: string) => client.h.call(key, path, { method: "POST" });
    const first = await tiny("/v1/embed");
    expect(first.status).toBe(200);
    expect(first.headers.get("ratelimit-policy")).toContain('"tpm";q=100;w=60');
    await client.h.settle();
    expect((await tiny("/v1/embed")).status).toBe(200);
    await client.h.settle();
    const third = await tiny("/v1/embed");
    expect(third.status).toBe(429);
    expect(await third.json()).toMatchObject({ code: "RATE_LIMITED", limit: "tpm" });
    expect(third.headers.get("retry-after")).not.toBeNull();
    expect(client.h.calls.origin).toHaveLength(2);
  });

  it("keeps {limit, windowSeconds} as one requests window, and names a refusal by the main window 'default'", async () => {
    const client = metered();
    const org = newOrg();
    const { id, key } = await client.create(org);
    await client.api(`/orgs/${org}/keys/${id}/rate-limit`, {
      method: "PUT",
      headers: operatorHeaders(),
      body: JSON.stringify({ limit: 1, windowSeconds: 60 }),
    });
    expect((await client.h.call(key, "/v1/models")).status).toBe(200);
    const refused = await client.h.call(key, "/v1/models");
    expect(await refused.json()).toMatchObject({ code: "RATE_LIMITED", limit: "default" });
  });

  it.each([
    [{ limits: [] }, "limits"],
    [{ limits: [{ name: "tpm", limit: 10, windowSeconds: 60, unit: "charge" }] }, "limits"],
    [{ limits: [{ name: "Bad Name", limit: 10, windowSeconds: 60 }] }, "limits.0.name"],
    [{ limits: [{ name: "a", limit: 10, windowSeconds: 60, unit: "tokens" }] }, "limits.0.unit"],
    [
      {
        limits: [
          { name: "a", limit: 10, windowSeconds: 60 },
          { name: "a", limit: 5, windowSeconds: 1 },
        ],
      },
      "limits.1.name",
    ],
    [{ limit: 5, windowSeconds: 60, limits: [{ name: "a", limit: 10, windowSeconds: 60 }] }, "limits"],
    [{ limit: 5 }, "windowSeconds"],
  ])("refuses %j with 400 naming %s, and changes nothing", async (body, field) => {
    const client = metered();
    const org = newOrg();
    const { id } = await client.create(org);
    const res = await client.api(`/orgs/${org}/keys/${id}/rate-limit`, { method: "PUT", headers: operatorHeaders(), body: JSON.stringify(body) });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { field: string }).field).toBe(field);
  });
});

describe("org credits", () => {
  it("admits exactly 30 of 90 concurrent requests across 3 keys on 30 org credits, 429 QUOTA_EXCEEDED for the rest", async () => {
    const client = metered();
    const org = newOrg();
    const put = await client.api(`/orgs/${org}/credits`, { method: "PUT", headers: operatorHeaders(), body: JSON.stringify({ remaining: 30 }) });
    expect(put.status).toBe(200);
    const keys = [];
    for (let i = 0; i < 3; i++) keys.push((await client.create(org)).key);
    const answers = await Promise.all(keys.flatMap((key) => Array.from({ length: 30 }, () => client.h.call(key, "/v1/models"))));
    expect(answers.filter((r) => r.status === 200)).toHaveLength(30);
    const refused = answers.filter((r) => r.status !== 200);
    expect(await Promise.all(refused.map(codeOf))).toEqual(Array(60).fill("QUOTA_EXCEEDED"));
    expect(client.h.calls.origin).toHaveLength(30);
    const left = await client.api(`/orgs/${org}/credits`, { headers: operatorHeaders() });
    expect(await left.json()).toMatchObject({ remaining: 0 });
  });

  it("costs an org without org credits no extra call: one guard call per request, none to an org's guard", async () => {
    const client = metered();
    const org = newOrg();
    const { id, key } = await client.create(org);
    const before = client.h.calls.guard.length;
    expect((await client.h.call(key, "/v1/models")).status).toBe(200);
    expect(client.h.calls.guard.slice(before)).toEqual(["check"]);
    expect((await statusOf(id)).orgCalls).toBe(0);
  });

  it("writes the org credits its keys spent with the org guard's batch, so an eviction gives none back", async () => {
    const client = metered();
    const org = newOrg();
    await client.api(`/orgs/${org}/credits`, { method: "PUT", headers: operatorHeaders(), body: JSON.stringify({ remaining: 100 }) });
    const { key } = await client.create(org);
    for (let i = 0; i < 10; i++) expect((await client.h.call(key, "/v1/models")).status).toBe(200);
    const orgGuard = guardStub(orgGuardName(org));
    // The batch's timer, run now (no real wait); before, it wrote nothing for an org guard (no window, no admissions).
    await runInDurableObject(orgGuard, (g: KeyGuard) => KeyGuard.hooks(g).room.flush());
    await evictDurableObject(orgGuard);
    const left = await client.api(`/orgs/${org}/credits`, { headers: operatorHeaders() });
    expect(await left.json()).toMatchObject({ remaining: 90 });
  });

  it("holds a metered request's reserve in the org credits too, and settles both", async () => {
    const client = metered({ charge: "30" });
    const org = newOrg();
    await client.api(`/orgs/${org}/credits`, { method: "PUT", headers: operatorHeaders(), body: JSON.stringify({ remaining: 1000 }) });
    const { key } = await client.create(org);
    expect((await chat(client, key)).status).toBe(200);
    await client.h.settle();
    const left = await client.api(`/orgs/${org}/credits`, { headers: operatorHeaders() });
    expect(await left.json()).toMatchObject({ remaining: 970 });
  });

  it("lets an org admin divide org credits among keys (a key's credits are a cap inside them), and only the operator set them", async () => {
    const client = metered();
    const org = newOrg();
    const admin = await adminHeaders(org);
    const refused = await client.api(`/orgs/${org}/credits`, { method: "PUT", headers: admin, body: JSON.stringify({ remaining: 1_000_000 }) });
    expect(refused.status).toBe(403);
    await client.api(`/orgs/${org}/credits`, { method: "PUT", headers: operatorHeaders(), body: JSON.stringify({ remaining: 100 }) });
    const created = await client.post(org, "/keys", { label: "capped", credits: { remaining: 2 } }, admin);
    expect(created.status).toBe(201);
    const { id, key } = (await created.json()) as { id: string; key: string };
    expect((await client.post(org, `/keys/${id}/credits`, { operation: "increment", value: 1 }, admin)).status).toBe(200);
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await client.h.call(key, "/v1/models")).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    const left = await client.api(`/orgs/${org}/credits`, { headers: admin });
    expect(await left.json()).toMatchObject({ remaining: 97 });
    const gone = await client.api(`/orgs/${org}/credits`, { method: "DELETE", headers: operatorHeaders() });
    expect(gone.status).toBe(200);
    expect((await client.api(`/orgs/${org}/credits`, { headers: admin })).status).toBe(404);
  });
});

describe("low-balance events", () => {
  /** The types of the org's webhook deliveries, once `count` are queued (the guard raises them off the request's path). */
  async function deliveredTypes(client: ReturnType<typeof adminClient>, org: string, count: number): Promise<string[]> {
    let types: string[] = [];
    for (let i = 0; i < 50 && types.length < count; i++) {
      const res = await client.api(`/orgs/${org}/webhook/deliveries`, { headers: await adminHeaders(org) });
      types = ((await res.json()) as { deliveries: { type: string }[] }).deliveries.map((d) => d.type).filter((t) => t.startsWith("credits."));
      if (types.length < count) await new Promise((r) => setTimeout(r, 20));
    }
    return types.sort();
  }

  it("raises credits.low once per crossing (again only after a top-up), and credits.exhausted at zero", async () => {
    const client = metered();
    const org = newOrg();
    const hook = await client.api(`/orgs/${org}/webhook`, {
      method: "PUT",
      headers: await adminHeaders(org),
      body: JSON.stringify({ url: "http://127.0.0.1:9/hook" }),
    });
    expect(hook.status).toBe(200);
    const { id, key } = await client.create(org, { credits: { remaining: 10, alertBelow: 5 } });
    // The key's view says the threshold (the console shows it), and a credits change that sets none keeps it.
    const shown = await client.api(`/orgs/${org}/keys/${id}`, { headers: await adminHeaders(org) });
    expect(((await shown.json()) as { credits: unknown }).credits).toMatchObject({ remaining: 10, alertBelow: 5 });
    const spend = async (n: number) => {
      for (let i = 0; i < n; i++) expect((await client.h.call(key, "/v1/models")).status).toBe(200);
    };
    await spend(8); // 10 -> 2: below 5 once
    expect(await deliveredTypes(client, org, 1)).toEqual(["credits.low"]);
    const top = await client.post(org, `/keys/${id}/credits`, { operation: "increment", value: 10 }, operatorHeaders());
    expect(top.status).toBe(200);
    await spend(8); // 12 -> 4: below 5 again, after the top-up lifted it
    await spend(4); // -> 0
    expect(await deliveredTypes(client, org, 3)).toEqual(["credits.exhausted", "credits.low", "credits.low"]);
  });

  it("raises them for org credits too", async () => {
    const client = metered();
    const org = newOrg();
    await client.api(`/orgs/${org}/webhook`, { method: "PUT", headers: await adminHeaders(org), body: JSON.stringify({ url: "http://127.0.0.1:9/hook" }) });
    const put = await client.api(`/orgs/${org}/credits`, { method: "PUT", headers: operatorHeaders(), body: JSON.stringify({ remaining: 3, alertBelow: 2 }) });
    expect(await put.json()).toMatchObject({ remaining: 3, alertBelow: 2 });
    // The console shows the alert threshold, so GET gives it back.
    const got = await client.api(`/orgs/${org}/credits`, { headers: operatorHeaders() });
    expect(await got.json()).toMatchObject({ remaining: 3, alertBelow: 2 });
    const { key } = await client.create(org);
    for (let i = 0; i < 3; i++) expect((await client.h.call(key, "/v1/models")).status).toBe(200);
    expect(await deliveredTypes(client, org, 2)).toEqual(["credits.exhausted", "credits.low"]);
  });
});
