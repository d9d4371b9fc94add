import { describe, expect, it } from "vitest";
import { adminClient, adminHeaders, codeOf, newOrg, operatorHeaders } from "./support/admin-client";

/** Who grants money (src/admin/money-grants.ts, docs/contract.md "Who may do what"). */
describe("only the operator grants money to an org without org credits", () => {
  it("refuses an org admin's key with credits 403, and creates nothing", async () => {
    const client = adminClient();
    const org = newOrg();
    const res = await client.post(org, "/keys", { label: "free money", credits: { remaining: 1_000_000 } });
    expect(res.status).toBe(403);
    expect(await codeOf(res)).toBe("INSUFFICIENT_PERMISSIONS");
    expect(((await res.json()) as { message: string }).message).toMatch(/only the operator/);
    const listed = await client.api(`/orgs/${org}/keys`, { headers: await adminHeaders(org) });
    expect(((await listed.json()) as { keys: unknown[] }).keys).toEqual([]);
    expect(await client.events(org)).toEqual([]);
  });

  it.each([
    ["increment", { operation: "increment", value: 1000 }],
    ["set", { operation: "set", value: 1000 }],
    ["set to unlimited", { operation: "set" }],
  ])("refuses an org admin's %s 403, leaves the balance as it was, and the key still spends from it", async (_name, body) => {
    const client = adminClient();
    const org = newOrg();
    const { id, key } = await client.create(org, { credits: { remaining: 2 } });
    const res = await client.post(org, `/keys/${id}/credits`, body);
    expect(res.status).toBe(403);
    expect(await codeOf(res)).toBe("INSUFFICIENT_PERMISSIONS");
    const view = await client.api(`/orgs/${org}/keys/${id}`, { headers: await adminHeaders(org) });
    expect(((await view.json()) as { credits: { remaining: number } | null }).credits?.remaining).toBe(2);
    expect((await client.events(org)).map((e) => e.action)).toEqual(["key.created"]);
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await client.h.call(key)).status);
    expect(statuses).toEqual([200, 200, 429]);
    expect(client.h.calls.origin).toHaveLength(2);
  });

  it("lets an org admin take credits away (decrement is no grant)", async () => {
    const client = adminClient();
    const org = newOrg();
    const { id } = await client.create(org, { credits: { remaining: 10 } });
    const res = await client.post(org, `/keys/${id}/credits`, { operation: "decrement", value: 4 });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { credits: { remaining: number } }).credits.remaining).toBe(6);
  });

  it("lets the operator create a customer's first key with credits, top it up, set it and make it unlimited", async () => {
    const client = adminClient();
    const org = newOrg();
    const created = await client.post(org, "/keys", { label: "first key", credits: { remaining: 5 } }, operatorHeaders());
    expect(created.status).toBe(201);
    const { id, key } = (await created.json()) as { id: string; key: string };
    const remaining = async (body: unknown) => {
      const res = await client.post(org, `/keys/${id}/credits`, body, operatorHeaders());
      expect(res.status).toBe(200);
      return ((await res.json()) as { credits: { remaining: number } | null }).credits?.remaining ?? "unlimited";
    };
    expect(await remaining({ operation: "increment", value: 5 })).toBe(10);
    expect(await remaining({ operation: "set", value: 1 })).toBe(1);
    expect((await client.h.call(key)).status).toBe(200);
    expect(await codeOf(await client.h.call(key))).toBe("QUOTA_EXCEEDED");
    expect(await remaining({ operation: "set" })).toBe("unlimited");
    expect((await client.h.call(key)).status).toBe(200);
    expect((await client.events(org)).map((e) => e.actor)).toEqual(["operator", "operator", "operator", "operator"]);
  });

  it("keeps rate limits and the org's shared limit the operator's", async () => {
    const client = adminClient();
    const org = newOrg();
    const { id } = await client.create(org);
    const put = async (path: string) =>
      client.api(`/orgs/${org}${path}`, { method: "PUT", headers: await adminHeaders(org), body: JSON.stringify({ limit: 1_000_000, windowSeconds: 1 }) });
    for (const path of [`/keys/${id}/rate-limit`, "/rate-limit"]) {
      const res = await put(path);
      expect({ path, status: res.status, code: await codeOf(res) }).toEqual({ path, status: 403, code: "INSUFFICIENT_PERMISSIONS" });
    }
  });
});
