// Rolling a key (POST /orgs/{org}/keys/{id}/roll): a new secret for the same key.

import { afterEach, describe, expect, it, vi } from "vitest";
import { adminClient, adminHeaders, codeOf, newOrg, operatorHeaders } from "./support/admin-client";

type Rolled = { id: string; key: string; prefix: string; previousValidUntil: string };

function setup() {
  const s = adminClient({ vars: { CACHE_TTL_SECONDS: "0" } });
  const roll = async (org: string, id: string, body: unknown = {}, headers?: Record<string, string>) =>
    s.api(`/orgs/${org}/keys/${id}/roll`, { method: "POST", headers: headers ?? (await adminHeaders(org)), body: JSON.stringify(body) });
  async function rolled(org: string, id: string, body: unknown = {}) {
    const res = await roll(org, id, body);
    expect(res.status).toBe(200);
    return (await res.json()) as Rolled;
  }
  return { ...s, roll, rolled };
}

afterEach(() => {
  vi.useRealTimers();
});

describe("rolling a key", () => {
  it("keeps the old secret working inside its grace and refuses it after, with a fake clock, even while KV still holds its record", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now());
    const { h, create, rolled, kvRecord } = setup();
    const org = newOrg();
    const { key: old, id } = await create(org);
    const stale = await kvRecord(old);
    const next = await rolled(org, id, { graceSeconds: 60 });
    expect(next.id).toBe(id);
    expect(next.key).toMatch(/^sk_live_[0-9a-f]{40}$/);
    expect(next.key).not.toBe(old);
    expect(Date.parse(next.previousValidUntil) - Date.now()).toBe(60_000);
    expect((await h.call(old)).status).toBe(200);
    expect((await h.call(next.key)).status).toBe(200);

    vi.setSystemTime(Date.now() + 60_000);
    // KV still holds the old secret's record as it was before the roll (another location's stale copy).
    await stale.put();
    const before = h.calls.origin.length;
    const refused = await h.call(old);
    expect(refused.status).toBe(403);
    expect(await codeOf(refused)).toBe("KEY_REVOKED");
    expect(h.calls.origin.length).toBe(before);
    expect((await h.call(next.key)).status).toBe(200);
  });

  it("refuses the old secret after its grace from KV alone (no guard call), once KV has the roll", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now());
    const { h, create, rolled } = setup();
    const org = newOrg();
    const { key: old, id } = await create(org);
    await rolled(org, id, { graceSeconds: 30 });
    vi.setSystemTime(Date.now() + 30_000);
    h.calls.guard.length = 0;
    const refused = await h.call(old);
    expect(refused.status).toBe(403);
    expect(await codeOf(refused)).toBe("KEY_REVOKED");
    expect(h.calls.guard.filter((m) => m === "check")).toEqual([]);
  });

  it("with no grace, refuses the old secret from the next request, and the new one works", async () => {
    const { h, create, rolled } = setup();
    const org = newOrg();
    const { key: old, id } = await create(org);
    const next = await rolled(org, id);
    expect(Date.parse(next.previousValidUntil)).toBeLessThanOrEqual(Date.now());
    expect((await h.call(old)).status).toBe(403);
    expect((await h.call(next.key)).status).toBe(200);
    // A second roll: the first new secret is replaced in turn.
    const third = await rolled(org, id, { graceSeconds: 3600 });
    expect((await h.call(next.key)).status).toBe(200);
    expect((await h.call(third.key)).status).toBe(200);
    expect((await h.call(old)).status).toBe(403);
  });

  it("continues credits, window, meta and usage across the roll: same key id, same counts", async () => {
    const { h, api, create, rolled, post } = setup();
    const org = newOrg();
    const { key: old, id } = await create(org, { meta: { plan: "pro" } });
    expect((await post(org, `/keys/${id}/credits`, { operation: "set", value: 10 }, operatorHeaders())).status).toBe(200);
    const limit = await api(`/orgs/${org}/keys/${id}/rate-limit`, {
      method: "PUT",
      headers: operatorHeaders(),
      body: JSON.stringify({ limit: 5, windowSeconds: 60 }),
    });
    expect(limit.status).toBe(200);
    for (let i = 0; i < 3; i++) expect((await h.call(old)).status).toBe(200);
    const next = await rolled(org, id, { graceSeconds: 600 });
    const first = await h.call(next.key);
    expect(first.status).toBe(200);
    const seen = (await first.json()) as { headers: Record<string, string> };
    // The same key to the origin: id, meta, and the balance going on from 7.
    expect(seen.headers["x-keyward-key-id"]).toBe(id);
    const meta = seen.headers["x-keyward-meta"] ?? "";
    expect(JSON.parse(atob(meta.replace(/-/g, "+").replace(/_/g, "/")))).toEqual({ plan: "pro" });
    expect(seen.headers["x-keyward-credits-remaining"]).toBe("6");
    expect((await h.call(old)).status).toBe(200);
    // The window holds all five: old secret, new secret, one window.
    const limited = await h.call(next.key);
    expect(limited.status).toBe(429);
    expect(await codeOf(limited)).toBe("RATE_LIMITED");
    const view = (await (await api(`/orgs/${org}/keys/${id}`, { headers: await adminHeaders(org) })).json()) as {
      id: string;
      prefix: string;
      credits: { remaining: number };
      meta: unknown;
      rateLimit: { limit: number };
    };
    expect(view).toMatchObject({ id, prefix: next.prefix, credits: { remaining: 5 }, meta: { plan: "pro" }, rateLimit: { limit: 5 } });
    // Usage: one history for the key, both secrets counted in it.
    const usage = await api(`/orgs/${org}/keys/${id}/usage?granularity=minute`, { headers: await adminHeaders(org) });
    expect(usage.status).toBe(200);
    const buckets = ((await usage.json()) as { buckets: { admitted: number }[] }).buckets;
    expect(buckets.reduce((n, b) => n + b.admitted, 0)).toBe(5);
    const listed = (await (await api(`/orgs/${org}/keys`, { headers: await adminHeaders(org) })).json()) as { keys: { id: string }[] };
    expect(listed.keys.map((k) => k.id)).toEqual([id]);
  });

  it("is audited and raises key.rolled; members, other orgs and revoked keys are refused; the grace is bounded", async () => {
    const s = setup();
    const { create, rolled, roll, events } = s;
    const org = newOrg();
    const { id } = await create(org);
    const next = await rolled(org, id, { graceSeconds: 120 });
    const audit = (await events(org)).find((e) => e.action === "key.rolled");
    expect(audit).toMatchObject({ keyId: id, actor: "user:user_1", detail: { graceSeconds: 120, prefix: next.prefix } });
    expect(JSON.stringify(audit)).not.toContain(next.key);
    // The operator may roll too.
    expect((await roll(org, id, {}, operatorHeaders())).status).toBe(200);
    expect((await roll(org, id, {}, await adminHeaders(org, "org:member"))).status).toBe(403);
    expect((await roll(org, id, {}, await adminHeaders(newOrg()))).status).toBe(404);
    for (const graceSeconds of [-1, 604_801, 1.5, "60"]) {
      const res = await roll(org, id, { graceSeconds });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { field: string }).field).toBe("graceSeconds");
    }
    const revoked = await s.post(org, `/keys/${id}/revoke`, {});
    expect(revoked.status).toBe(200);
    const conflict = await roll(org, id);
    expect(conflict.status).toBe(409);
  });
});

describe("a leak report of a rolled key's old secret", () => {
  const report = (h: ReturnType<typeof setup>["h"], key: string) =>
    h.send("/_keyward/v1/leaks", {
      method: "POST",
      headers: { "content-type": "application/json", "cf-connecting-ip": "198.51.100.9" },
      body: JSON.stringify({ key, url: "https://paste.example/x" }),
    });

  it("revokes nothing more once the old secret's grace has ended: the current secret goes on working", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now());
    const { h, create, rolled, events } = setup();
    const org = newOrg();
    const { key: old, id } = await create(org);
    const next = await rolled(org, id, { graceSeconds: 10 });
    vi.setSystemTime(Date.now() + 10_000);
    expect((await report(h, old)).status).toBe(202);
    await h.settle();
    expect((await h.call(next.key)).status).toBe(200);
    expect((await h.call(old)).status).toBe(403);
    expect((await events(org)).map((e) => e.action)).toContain("key.previous_secret_leaked");
  });

  it("revokes the whole key while the old secret is still in its grace", async () => {
    const { h, create, rolled } = setup();
    const org = newOrg();
    const { key: old, id } = await create(org);
    const next = await rolled(org, id, { graceSeconds: 3600 });
    expect((await report(h, old)).status).toBe(202);
    await h.settle();
    expect((await h.call(next.key)).status).toBe(403);
    expect((await h.call(old)).status).toBe(403);
  });
});
