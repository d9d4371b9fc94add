import { createLocalJWKSet } from "jose";
import { describe, expect, it } from "vitest";
import { verifyKeywardContext } from "../src/origin/verify-context";
import { adminClient, adminHeaders, newOrg } from "./support/admin-client";
import { harness } from "./support/harness";

const decodeMeta = (value: string | null) =>
  value === null ? null : JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(value.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0))));

async function jwksOf(client: ReturnType<typeof adminClient>) {
  return (await (await client.h.send("/_keyward/.well-known/jwks.json")).json()) as Parameters<typeof createLocalJWKSet>[0];
}

describe("key metadata", () => {
  it("shows meta in the key's view and sends it to the origin, as X-Keyward-Meta (base64url JSON) and in the signed context", async () => {
    const client = adminClient();
    const org = newOrg();
    const meta = { plan: "pro", customerId: "cus_42", seats: 5, tags: ["eu", "beta"], note: "é ✓" };
    const created = await client.create(org, { meta });
    expect(created.meta).toEqual(meta);
    const res = await client.h.call(created.key);
    expect(res.status).toBe(200);
    const seen = client.h.calls.origin[0] as Request;
    const header = seen.headers.get("x-keyward-meta");
    expect(header).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeMeta(header)).toEqual(meta);
    const who = await verifyKeywardContext(seen, { jwks: createLocalJWKSet(await jwksOf(client)) });
    expect(who.meta).toEqual(meta);
  });

  it("sends no meta header for a key without meta, and strips one a client sends", async () => {
    const client = adminClient();
    const created = await client.create(newOrg());
    await client.h.call(created.key, "/v1/things", { headers: { "x-keyward-meta": "eyJwbGFuIjoiZW50ZXJwcmlzZSJ9" } });
    const seen = client.h.calls.origin[0] as Request;
    expect(seen.headers.get("x-keyward-meta")).toBeNull();
    const who = await verifyKeywardContext(seen, { jwks: createLocalJWKSet(await jwksOf(client)) });
    expect(who.meta).toBeNull();
  });

  it("shows a PATCHed meta to the origin on the very next request, while KV and the isolate cache still hold the old record", async () => {
    const client = adminClient();
    const org = newOrg();
    const created = await client.create(org, { meta: { plan: "free" } });
    const stale = await client.kvRecord(created.key);
    expect((await client.h.call(created.key)).status).toBe(200); // cached in this isolate now
    const res = await client.api(`/orgs/${org}/keys/${created.id}`, {
      method: "PATCH",
      headers: await adminHeaders(org),
      body: JSON.stringify({ meta: { plan: "pro" } }),
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { meta: unknown }).meta).toEqual({ plan: "pro" });
    await stale.put();
    const other = harness();
    for (const gateway of [client.h, other]) {
      expect((await gateway.call(created.key)).status).toBe(200);
      const seen = gateway.calls.origin.at(-1) as Request;
      expect(decodeMeta(seen.headers.get("x-keyward-meta"))).toEqual({ plan: "pro" });
      const who = await verifyKeywardContext(seen, { jwks: createLocalJWKSet(await jwksOf(client)) });
      expect(who.meta).toEqual({ plan: "pro" });
    }
    const events = await client.events(org);
    expect(events[0]).toMatchObject({ action: "key.meta_changed", keyId: created.id });
  });

  it("clears meta with null, and the origin sees none on the next request", async () => {
    const client = adminClient();
    const org = newOrg();
    const created = await client.create(org, { meta: { plan: "free" } });
    await client.h.call(created.key);
    const res = await client.api(`/orgs/${org}/keys/${created.id}`, {
      method: "PATCH",
      headers: await adminHeaders(org),
      body: JSON.stringify({ meta: null }),
    });
    expect(res.status).toBe(200);
    await client.h.call(created.key);
    expect((client.h.calls.origin.at(-1) as Request).headers.get("x-keyward-meta")).toBeNull();
  });

  it.each([
    [{ meta: "pro" }, "meta"],
    [{ meta: ["pro"] }, "meta"],
    [{ meta: { blob: "x".repeat(1100) } }, "meta"],
  ])("refuses meta that is not a JSON object of at most 1 KiB (%#) with 400 naming the field", async (body, field) => {
    const client = adminClient();
    const org = newOrg();
    const res = await client.post(org, "/keys", { label: "x", ...body });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { field: string }).field).toBe(field);
  });

  it("lets only org admins PATCH meta and label; other fields are refused", async () => {
    const client = adminClient();
    const org = newOrg();
    const created = await client.create(org, { meta: { plan: "free" } });
    const patch = async (body: unknown, headers: Record<string, string>) =>
      client.api(`/orgs/${org}/keys/${created.id}`, { method: "PATCH", headers, body: JSON.stringify(body) });
    expect((await patch({ meta: { plan: "x" } }, await adminHeaders(org, "org:member"))).status).toBe(403);
    expect((await patch({ meta: { plan: "x" } }, await adminHeaders(newOrg()))).status).toBe(404);
    expect((await patch({ label: "new" }, await adminHeaders(org, "org:member"))).status).toBe(403);
    expect((await patch({ scopes: [] }, await adminHeaders(org))).status).toBe(400);
    expect((await patch({ label: "new", environment: "test" }, await adminHeaders(org))).status).toBe(400);
    expect((await patch({ label: "" }, await adminHeaders(org))).status).toBe(400);
    expect((await patch({ label: "bad\u202Ename" }, await adminHeaders(org))).status).toBe(400);
    expect((await patch({}, await adminHeaders(org))).status).toBe(400);
    const view = await client.api(`/orgs/${org}/keys/${created.id}`, { headers: await adminHeaders(org) });
    expect(((await view.json()) as { meta: unknown }).meta).toEqual({ plan: "free" });
  });

  it("renames a key in one ledger call: the view, the listing's search and the audit log say the new name; the edge sees no new version", async () => {
    const client = adminClient();
    const org = newOrg();
    const created = await client.create(org, { label: "billing worker", meta: { plan: "free" } });
    const kvPuts = client.h.calls.kv.put;
    const guardCalls = client.h.calls.guard.length;
    const res = await client.api(`/orgs/${org}/keys/${created.id}`, {
      method: "PATCH",
      headers: await adminHeaders(org),
      body: JSON.stringify({ label: "  Invoices worker " }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ label: "Invoices worker", meta: { plan: "free" } });
    // A label is the ledger's alone: the guard is only asked for the view's live status, and KV is not written.
    expect(client.h.calls.guard.slice(guardCalls)).toEqual(["describe"]);
    expect(client.h.calls.kv.put).toBe(kvPuts);
    const found = await client.api(`/orgs/${org}/keys?q=invoices`, { headers: await adminHeaders(org) });
    expect(((await found.json()) as { keys: { id: string }[] }).keys.map((k) => k.id)).toEqual([created.id]);
    const gone = await client.api(`/orgs/${org}/keys?q=billing`, { headers: await adminHeaders(org) });
    expect(((await gone.json()) as { keys: unknown[] }).keys).toEqual([]);
    expect((await client.events(org))[0]).toMatchObject({
      action: "key.renamed",
      keyId: created.id,
      detail: { from: "billing worker", to: "Invoices worker" },
    });
    // The key still works, and renaming to the same name records nothing.
    expect((await client.h.call(created.key)).status).toBe(200);
    const same = await client.api(`/orgs/${org}/keys/${created.id}`, {
      method: "PATCH",
      headers: await adminHeaders(org),
      body: JSON.stringify({ label: "Invoices worker" }),
    });
    expect(same.status).toBe(200);
    expect((await client.events(org)).filter((e) => e.action === "key.renamed")).toHaveLength(1);
  });

  it("renames and replaces meta in one call: one audit entry says both", async () => {
    const client = adminClient();
    const org = newOrg();
    const created = await client.create(org, { label: "a", meta: { plan: "free" } });
    const res = await client.api(`/orgs/${org}/keys/${created.id}`, {
      method: "PATCH",
      headers: await adminHeaders(org),
      body: JSON.stringify({ label: "b", meta: { plan: "pro" } }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ label: "b", meta: { plan: "pro" } });
    expect((await client.events(org))[0]).toMatchObject({ action: "key.meta_changed", detail: { meta: { plan: "pro" }, label: { from: "a", to: "b" } } });
  });

  // threats.md 73: a 4 KB body nested 2,000 deep was a 500 (stack overflow in the recursive JSON schema).
  const nested = (depth: number) => `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`;

  it.each([
    ["2,000 deep", nested(2000), "must be nested at most 16 levels deep"],
    ["2,000 deep in arrays", `{"a":${"[".repeat(2000)}${"]".repeat(2000)}}`, "must be nested at most 16 levels deep"],
    ["17 deep", nested(17), "must be nested at most 16 levels deep"],
  ])("answers meta nested %s with 400 naming meta, on create and on PATCH, changing nothing", async (_name, meta, message) => {
    const client = adminClient();
    const org = newOrg();
    const created = await client.create(org, { meta: { plan: "free" } });
    const headers = await adminHeaders(org);
    const create = await client.api(`/orgs/${org}/keys`, { method: "POST", headers, body: `{"label":"deep","meta":${meta}}` });
    expect(create.status).toBe(400);
    expect(await create.json()).toMatchObject({ code: "INVALID_REQUEST", field: "meta", message: `meta: ${message}` });
    const patch = await client.api(`/orgs/${org}/keys/${created.id}`, { method: "PATCH", headers, body: `{"meta":${meta}}` });
    expect(patch.status).toBe(400);
    expect(await patch.json()).toMatchObject({ code: "INVALID_REQUEST", field: "meta", message: `meta: ${message}` });
    const keys = (await (await client.api(`/orgs/${org}/keys`, { headers })).json()) as { keys: { meta: unknown }[] };
    expect(keys.keys.map((k) => k.meta)).toEqual([{ plan: "free" }]);
    expect((await client.events(org)).map((e) => e.action)).toEqual(["key.created"]);
  });

  it("accepts meta nested exactly 16 deep", async () => {
    const client = adminClient();
    const org = newOrg();
    const res = await client.api(`/orgs/${org}/keys`, { method: "POST", headers: await adminHeaders(org), body: `{"label":"deep","meta":${nested(16)}}` });
    expect(res.status).toBe(201);
  });
});
