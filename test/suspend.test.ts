import { evictDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { adminClient, adminHeaders, codeOf, newOrg, operatorHeaders } from "./support/admin-client";
import { guardStub, harness } from "./support/harness";

describe("suspend and resume a key", () => {
  it("refuses a disabled key with 403 KEY_DISABLED on the next request, without calling the origin, and audits it", async () => {
    const { h, post, create, events } = adminClient();
    const org = newOrg();
    const { key, id } = await create(org);
    expect((await h.call(key)).status).toBe(200);
    const res = await post(org, `/keys/${id}/disable`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: "disabled", disabledAt: expect.any(String) });
    const before = h.calls.origin.length;
    const refused = await h.call(key);
    expect(refused.status).toBe(403);
    expect(await codeOf(refused)).toBe("KEY_DISABLED");
    expect(h.calls.origin.length).toBe(before);
    expect((await events(org)).map((e) => e.action)).toEqual(["key.disabled", "key.created"]);
  });

  it("consumes nothing while disabled and comes back with the same window", async () => {
    const { h, post, create, api } = adminClient();
    const org = newOrg();
    const { key, id } = await create(org);
    await api(`/orgs/${org}/keys/${id}/rate-limit`, { method: "PUT", headers: operatorHeaders(), body: JSON.stringify({ limit: 5, windowSeconds: 60 }) });
    for (let i = 0; i < 3; i++) expect((await h.call(key)).status).toBe(200);
    await post(org, `/keys/${id}/disable`);
    for (let i = 0; i < 10; i++) expect(await codeOf(await h.call(key))).toBe("KEY_DISABLED");
    const enabled = await post(org, `/keys/${id}/enable`);
    expect(((await enabled.json()) as { status: string }).status).toBe("active");
    // 3 of 5 were used before; the 10 refusals took nothing, and the window was not reset.
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await h.call(key)).status);
    expect(statuses).toEqual([200, 200, 429, 429]);
  });

  it("cannot be re-enabled by a stale KV record, in this isolate or another, nor re-disabled by one", async () => {
    const { h, post, create, kvRecord } = adminClient();
    const org = newOrg();
    const { key, id } = await create(org);
    const enabledCopy = await kvRecord(key);
    await post(org, `/keys/${id}/disable`);
    await enabledCopy.put();
    const other = harness();
    expect(await codeOf(await other.call(key))).toBe("KEY_DISABLED");
    expect(await codeOf(await h.call(key))).toBe("KEY_DISABLED");
    expect(other.calls.origin).toHaveLength(0);
    const disabledCopy = await kvRecord(key);
    await post(org, `/keys/${id}/enable`);
    await disabledCopy.put();
    expect((await harness().call(key)).status).toBe(200);
  });

  it("stays disabled after the guard restarts", async () => {
    const { h, post, create } = adminClient();
    const org = newOrg();
    const { key, id } = await create(org);
    await post(org, `/keys/${id}/disable`);
    await evictDurableObject(guardStub(id));
    expect(await codeOf(await h.call(key))).toBe("KEY_DISABLED");
  });

  it("answers KEY_REVOKED before KEY_DISABLED, and KEY_DISABLED before a permission refusal", async () => {
    const policy = { rules: [{ method: "GET", path: "/v1/open", permission: null }] };
    const { h, post, create } = adminClient({ policy });
    const org = newOrg();
    const a = await create(org);
    await post(org, `/keys/${a.id}/disable`);
    // No rule allows /v1/closed: a permission refusal, but the suspension is answered first.
    expect(await codeOf(await h.call(a.key, "/v1/closed"))).toBe("KEY_DISABLED");
    await post(org, `/keys/${a.id}/revoke`);
    expect(await codeOf(await h.call(a.key, "/v1/open"))).toBe("KEY_REVOKED");
    // Revocation stays final: enabling a revoked key does not bring it back.
    await post(org, `/keys/${a.id}/enable`);
    expect(await codeOf(await h.call(a.key, "/v1/open"))).toBe("KEY_REVOKED");
    expect(h.calls.origin).toHaveLength(0);
  });

  it("admits nothing of a burst once the disable call has returned", async () => {
    const { h, post, create } = adminClient();
    const org = newOrg();
    const { key, id } = await create(org);
    const results: { status: number; at: number }[] = [];
    const burst = Array.from({ length: 60 }, (_, i) =>
      new Promise((r) => setTimeout(r, i % 12)).then(() => h.call(key)).then((r) => results.push({ status: r.status, at: Date.now() })),
    );
    let acknowledged = Number.POSITIVE_INFINITY;
    const disabling = post(org, `/keys/${id}/disable`).then((r) => {
      acknowledged = Date.now();
      return r.status;
    });
    await Promise.all([...burst, disabling]);
    expect(await disabling).toBe(200);
    expect(results.filter((r) => r.at > acknowledged).every((r) => r.status === 403)).toBe(true);
    expect(h.calls.origin.length).toBe(results.filter((r) => r.status === 200).length);
    expect((await h.call(key)).status).toBe(403);
  });

  it("lets the operator disable any org's key; org members and other orgs cannot", async () => {
    const { h, post, create, events } = adminClient();
    const org = newOrg();
    const { key, id } = await create(org);
    expect((await post(org, `/keys/${id}/disable`, {}, await adminHeaders(org, "org:member"))).status).toBe(403);
    expect((await post(org, `/keys/${id}/disable`, {}, await adminHeaders(newOrg()))).status).toBe(404);
    expect((await h.call(key)).status).toBe(200);
    expect((await post(org, `/keys/${id}/disable`, {}, operatorHeaders())).status).toBe(200);
    expect(await codeOf(await h.call(key))).toBe("KEY_DISABLED");
    expect((await events(org))[0]).toMatchObject({ action: "key.disabled", actor: "operator" });
  });

  it("is idempotent: disabling twice writes one event; a body with fields is refused", async () => {
    const { post, create, events } = adminClient();
    const org = newOrg();
    const { id } = await create(org);
    expect((await post(org, `/keys/${id}/disable`, { reason: "x" })).status).toBe(400);
    expect((await post(org, `/keys/${id}/disable`)).status).toBe(200);
    expect((await post(org, `/keys/${id}/disable`)).status).toBe(200);
    expect((await events(org)).filter((e) => e.action === "key.disabled")).toHaveLength(1);
  });
});
