// What the fourth attack found in the admin API (threats.md 77-79): answers that
// said a change was made, or a filter applied, when it was not.
import { describe, expect, it } from "vitest";
import { adminClient, adminHeaders, newOrg, operatorHeaders } from "./support/admin-client";

describe("77. a revoked key takes no more changes: 409, nothing audited", () => {
  const changes: [string, string, string, unknown, "admin" | "operator"][] = [
    ["enable", "POST", "/enable", {}, "admin"],
    ["disable", "POST", "/disable", {}, "admin"],
    ["credits", "POST", "/credits", { operation: "decrement", value: 1 }, "admin"],
    ["credits set", "POST", "/credits", { operation: "set", value: 5 }, "operator"],
    ["meta", "PATCH", "", { meta: { plan: "pro" } }, "admin"],
    ["rate limit", "PUT", "/rate-limit", { limit: 5, windowSeconds: 60 }, "operator"],
  ];

  it.each(changes)("answers %s on a revoked key with 409 CONFLICT, calling no guard and auditing nothing", async (_name, method, suffix, body, who) => {
    const client = adminClient();
    const org = newOrg();
    const created = await client.create(org, { credits: { remaining: 10 } });
    expect((await client.post(org, `/keys/${created.id}/revoke`)).status).toBe(200);
    const before = await client.events(org);
    const guardCalls = client.h.calls.guard.length;
    const headers = who === "operator" ? operatorHeaders() : await adminHeaders(org);
    const res = await client.api(`/orgs/${org}/keys/${created.id}${suffix}`, { method, headers, body: JSON.stringify(body) });
    expect(res.status).toBe(409);
    const error = (await res.json()) as { code: string; message: string };
    expect(error.code).toBe("CONFLICT");
    expect(error.message).toMatch(/revoked.*Create a new key/);
    expect(client.h.calls.guard.length).toBe(guardCalls);
    expect(await client.events(org)).toEqual(before);
    const view = (await (await client.api(`/orgs/${org}/keys/${created.id}`, { headers: await adminHeaders(org) })).json()) as Record<string, unknown>;
    expect(view).toMatchObject({ status: "revoked", meta: null, disabledAt: null, rateLimit: { limit: 60 } });
  });

  it("answers 409 once a scheduled revocation has come, and still takes changes before it", async () => {
    let now = Date.now();
    const client = adminClient({ now: () => now });
    const org = newOrg();
    const created = await client.create(org);
    const at = new Date(now + 60_000).toISOString();
    expect((await client.post(org, `/keys/${created.id}/revoke`, { at })).status).toBe(200);
    expect((await client.post(org, `/keys/${created.id}/disable`)).status).toBe(200);
    now += 61_000;
    const res = await client.post(org, `/keys/${created.id}/enable`);
    expect(res.status).toBe(409);
    expect((await client.events(org)).map((e) => e.action)).toEqual(["key.disabled", "key.revocation_scheduled", "key.created"]);
  });

  it("still revokes a revoked key idempotently (200, nothing audited again)", async () => {
    const client = adminClient();
    const org = newOrg();
    const created = await client.create(org);
    expect((await client.post(org, `/keys/${created.id}/revoke`)).status).toBe(200);
    expect((await client.post(org, `/keys/${created.id}/revoke`)).status).toBe(200);
    expect((await client.events(org)).map((e) => e.action)).toEqual(["key.revoked", "key.created"]);
  });
});

describe("78. allowedIps: [] is refused, not read as any address", () => {
  it("answers an empty allowedIps with 400 naming it, creating nothing", async () => {
    const client = adminClient();
    const org = newOrg();
    const res = await client.post(org, "/keys", { label: "office", allowedIps: [] });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: "INVALID_REQUEST", field: "allowedIps", message: expect.stringMatching(/^allowedIps: must not be empty/) });
    expect(client.h.calls.kv.put).toBe(0);
    expect(await client.events(org)).toEqual([]);
  });

  it("admits every IPv4 address with 0.0.0.0/0 and no IPv6 one; ::/0 the other way round", async () => {
    const client = adminClient();
    const org = newOrg();
    const v4 = await client.create(org, { allowedIps: ["0.0.0.0/0"] });
    const v6 = await client.create(org, { allowedIps: ["::/0"] });
    const from = (key: string, address: string) => client.h.call(key, "/v1/things", { headers: { "cf-connecting-ip": address } }).then((r) => r.status);
    expect([await from(v4.key, "203.0.113.7"), await from(v4.key, "::ffff:203.0.113.7"), await from(v4.key, "2001:db8::1")]).toEqual([200, 200, 403]);
    expect([await from(v6.key, "2001:db8::1"), await from(v6.key, "203.0.113.7")]).toEqual([200, 403]);
  });
});

describe("79. a search of control characters only is refused, not read as no search", () => {
  it.each(["%09", "%0A", "%20%09%20", "%E2%80%AE"])("answers q=%s with 400 naming q", async (q) => {
    const client = adminClient();
    const org = newOrg();
    const res = await client.api(`/orgs/${org}/keys?q=${q}`, { headers: await adminHeaders(org) });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: "INVALID_REQUEST", field: "q" });
  });

  it("still reads spaces alone as no search", async () => {
    const client = adminClient();
    const org = newOrg();
    await client.create(org);
    const res = await client.api(`/orgs/${org}/keys?q=%20%20`, { headers: await adminHeaders(org) });
    expect(((await res.json()) as { keys: unknown[] }).keys).toHaveLength(1);
  });
});

describe("85. the credit balance is capped at 1e12, not only each operation", () => {
  it("refuses an increment that would take the balance over 1e12 with 400 naming value, changing and auditing nothing", async () => {
    const client = adminClient();
    const org = newOrg();
    const created = await client.create(org, { credits: { remaining: 999_999_999_990 } });
    const credits = (body: unknown) => client.post(org, `/keys/${created.id}/credits`, body, operatorHeaders());
    expect((await credits({ operation: "increment", value: 10 })).status).toBe(200);
    const before = await client.events(org);
    for (let i = 0; i < 3; i++) {
      const res = await credits({ operation: "increment", value: 1_000_000_000_000 });
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ code: "INVALID_REQUEST", field: "value", message: expect.stringMatching(/over the most a key may hold/) });
    }
    expect((await credits({ operation: "increment", value: 1 })).status).toBe(400);
    const view = (await (await client.api(`/orgs/${org}/keys/${created.id}`, { headers: await adminHeaders(org) })).json()) as {
      credits: { remaining: number };
    };
    expect(view.credits.remaining).toBe(1_000_000_000_000);
    expect(await client.events(org)).toEqual(before);
    // Taking some away, then giving back up to the cap, is fine.
    expect((await credits({ operation: "decrement", value: 5 })).status).toBe(200);
    expect((await credits({ operation: "increment", value: 5 })).status).toBe(200);
  });
});
