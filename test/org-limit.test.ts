import { describe, expect, it } from "vitest";
import { adminClient, adminHeaders, codeOf, newOrg, operatorHeaders } from "./support/admin-client";
import { guardStub } from "./support/harness";

type Client = ReturnType<typeof adminClient>;

async function setOrgLimit(client: Client, org: string, limit: number, windowSeconds = 60) {
  return client.api(`/orgs/${org}/rate-limit`, { method: "PUT", headers: operatorHeaders(), body: JSON.stringify({ limit, windowSeconds }) });
}

async function keysWithLimit(client: Client, org: string, n: number, limit: number) {
  const keys = [];
  for (let i = 0; i < n; i++) {
    const k = await client.create(org);
    await client.api(`/orgs/${org}/keys/${k.id}/rate-limit`, { method: "PUT", headers: operatorHeaders(), body: JSON.stringify({ limit, windowSeconds: 60 }) });
    keys.push(k);
  }
  return keys;
}

describe("a shared rate limit for an org", () => {
  it("admits exactly 50 across 10 keys each limited to 100 when the org's limit is 50, and names the org limit", async () => {
    const client = adminClient();
    const org = newOrg();
    const keys = await keysWithLimit(client, org, 10, 100);
    expect((await setOrgLimit(client, org, 50)).status).toBe(200);
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => client.h.call((keys[i % 10] as { key: string }).key)));
    expect(results.filter((r) => r.status === 200)).toHaveLength(50);
    expect(client.h.calls.origin).toHaveLength(50);
    const refused = results.find((r) => r.status === 429) as Response;
    const body = (await refused.json()) as { code: string; message: string };
    expect(body.code).toBe("RATE_LIMITED");
    expect(body.message).toMatch(/organisation's shared limit of 50 requests in 60 s/);
    expect(refused.headers.get("ratelimit-policy")).toBe('"org";q=50;w=60');
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
  });

  it("takes nothing from a key's own window when the org limit refuses, and stops on DELETE", async () => {
    const client = adminClient();
    const org = newOrg();
    const [a, b] = await keysWithLimit(client, org, 2, 5);
    await setOrgLimit(client, org, 3);
    const statuses = [];
    for (let i = 0; i < 6; i++) statuses.push((await client.h.call((a as { key: string }).key)).status);
    expect(statuses).toEqual([200, 200, 200, 429, 429, 429]);
    expect((await client.h.call((b as { key: string }).key)).status).toBe(429);
    const cleared = await client.api(`/orgs/${org}/rate-limit`, { method: "DELETE", headers: operatorHeaders() });
    expect(cleared.status).toBe(200);
    // Key a used 3 of its 5 (the three org refusals took none); key b has all 5.
    const after = [];
    for (let i = 0; i < 3; i++) after.push((await client.h.call((a as { key: string }).key)).status);
    expect(after).toEqual([200, 200, 429]);
    expect(await codeOf(await client.h.call((a as { key: string }).key))).toBe("RATE_LIMITED");
    for (let i = 0; i < 5; i++) expect((await client.h.call((b as { key: string }).key)).status).toBe(200);
  });

  it("applies to keys created after the limit was set", async () => {
    const client = adminClient();
    const org = newOrg();
    await setOrgLimit(client, org, 2);
    const k = await client.create(org);
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await client.h.call(k.key)).status);
    expect(statuses).toEqual([200, 200, 429]);
  });

  it("costs an org without a shared limit exactly one guard call per request, and no call from the guard to another", async () => {
    const client = adminClient();
    const org = newOrg();
    const [k] = await keysWithLimit(client, org, 1, 1000);
    const key = k as { key: string; id: string };
    const before = client.h.calls.guard.length;
    for (let i = 0; i < 20; i++) expect((await client.h.call(key.key)).status).toBe(200);
    expect(client.h.calls.guard.length - before).toBe(20);
    const s = { keyId: key.id, version: 0, limit: 1000, windowSeconds: 60, expiresAt: null, revoked: false, revokeAt: null };
    expect((await guardStub(key.id).describe(s)).orgCalls).toBe(0);
    // With a shared limit: still one call from the gateway, and one from the key's guard to the org's.
    await setOrgLimit(client, org, 100);
    const mark = client.h.calls.guard.length;
    for (let i = 0; i < 10; i++) expect((await client.h.call(key.key)).status).toBe(200);
    expect(client.h.calls.guard.length - mark).toBe(10);
    expect((await guardStub(key.id).describe(s)).orgCalls).toBe(10);
  });

  it("lets only the operator set or clear it; org admins can read it; bad input names the field", async () => {
    const client = adminClient();
    const org = newOrg();
    const admin = await adminHeaders(org);
    expect((await client.api(`/orgs/${org}/rate-limit`, { method: "PUT", headers: admin, body: '{"limit":5,"windowSeconds":60}' })).status).toBe(403);
    const bad = await client.api(`/orgs/${org}/rate-limit`, { method: "PUT", headers: operatorHeaders(), body: '{"limit":-1,"windowSeconds":60}' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { field: string }).field).toBe("limit");
    expect((await client.api(`/orgs/${org}/rate-limit`, { headers: admin })).status).toBe(404);
    await setOrgLimit(client, org, 7, 30);
    const read = await client.api(`/orgs/${org}/rate-limit`, { headers: admin });
    expect(await read.json()).toMatchObject({ limit: 7, windowSeconds: 30 });
    const events = await client.events(org);
    expect(events[0]).toMatchObject({ action: "org.rate_limit_set", actor: "operator" });
  });
});
