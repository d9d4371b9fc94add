import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ipAllowed, normaliseAllowList } from "../src/net/ip-allow-list";
import { guardStub, harness, seedKey } from "./support/harness";
import { devToken } from "./support/tokens";

const errorOf = async (res: Response) => (await res.json()) as { code: string; field?: string; message: string };

describe("IP allow-list matching (pure)", () => {
  it("normalises addresses and CIDRs: single addresses become /32 or /128, host bits are cleared, duplicates go", () => {
    expect(normaliseAllowList(["203.0.113.7", "203.0.113.9/24", "2001:db8::1", "2001:db8:0:0:1::/64", "203.0.113.0/24"])).toEqual({
      ok: true,
      list: ["203.0.113.7/32", "203.0.113.0/24", "2001:db8::1/128", "2001:db8::/64"],
    });
  });

  it("judges an IPv4-mapped IPv6 entry or client address as its IPv4 address", () => {
    expect(normaliseAllowList(["::ffff:203.0.113.0/120"])).toEqual({ ok: true, list: ["203.0.113.0/24"] });
    expect(ipAllowed(["203.0.113.0/24"], "::ffff:203.0.113.7")).toBe(true);
    expect(ipAllowed(["198.51.100.0/24"], "::ffff:203.0.113.7")).toBe(false);
  });

  it.each(["203.0.113.0/33", "203.0.113", "1", "0x7f.0.0.1", "2001:db8::/129", "example.com", "", "10.0.0.0/8/8", "::1/-1"])(
    "refuses the invalid entry %j and says which one",
    (bad) => {
      expect(normaliseAllowList(["127.0.0.1", bad])).toEqual({ ok: false, index: 1 });
    },
  );

  it("refuses a missing or unparsable client address (fail closed)", () => {
    expect(ipAllowed(["0.0.0.0/0"], null)).toBe(false);
    expect(ipAllowed(["0.0.0.0/0"], "not-an-address")).toBe(false);
    expect(ipAllowed(["0.0.0.0/0"], "203.0.113.7")).toBe(true);
  });

  it("never matches across address families (an IPv6 client against IPv4 lists and back)", () => {
    expect(ipAllowed(["0.0.0.0/0"], "2001:db8::1")).toBe(false);
    expect(ipAllowed(["::/0"], "203.0.113.7")).toBe(false);
  });

  it("admits exactly the addresses inside an IPv4 network (property)", () => {
    fc.assert(
      fc.property(fc.ipV4(), fc.integer({ min: 0, max: 32 }), fc.ipV4(), (net, bits, client) => {
        const normal = normaliseAllowList([`${net}/${bits}`]);
        if (!normal.ok) return false;
        const toInt = (a: string) => a.split(".").reduce((n, o) => n * 256 + Number(o), 0);
        const mask = bits === 0 ? 0 : 2 ** 32 - 2 ** (32 - bits);
        const inside = (toInt(net) & mask) >>> 0 === (toInt(client) & mask) >>> 0;
        return ipAllowed(normal.list, client) === inside && ipAllowed(normal.list, `::ffff:${client}`) === inside;
      }),
    );
  });
});

describe("IP allow-lists at the gateway (threats.md 62)", () => {
  it.each([
    ["X-Forwarded-For", { "x-forwarded-for": "203.0.113.7" }],
    ["X-Real-IP", { "x-real-ip": "203.0.113.7" }],
    ["Forwarded", { forwarded: "for=203.0.113.7" }],
    ["True-Client-IP", { "true-client-ip": "203.0.113.7" }],
  ])("refuses an address outside the list with 403 IP_NOT_ALLOWED whatever %s says, with no origin call and no extra binding call", async (_name, spoof) => {
    const h = harness();
    const { key } = await seedKey({ allowedIps: ["203.0.113.0/24"] });
    const res = await h.call(key, "/v1/things", { headers: { "cf-connecting-ip": "198.51.100.1", ...spoof } });
    expect(res.status).toBe(403);
    expect((await errorOf(res)).code).toBe("IP_NOT_ALLOWED");
    // The same counts as an admitted request: one KV read, one guard RPC (asked without consuming).
    expect(h.calls).toMatchObject({ kv: { get: 1 }, guard: ["check"], origin: [] });
  });

  it("admits an address inside the list, and an IPv4-mapped IPv6 client address as its IPv4 address", async () => {
    const h = harness();
    const { key } = await seedKey({ allowedIps: ["203.0.113.0/24", "2001:db8::/32"] });
    for (const address of ["203.0.113.7", "::ffff:203.0.113.8", "2001:db8::5"]) {
      expect((await h.call(key, "/v1/things", { headers: { "cf-connecting-ip": address } })).status).toBe(200);
    }
    expect(h.calls.origin).toHaveLength(3);
    expect(h.calls.kv.get).toBe(1);
    expect(h.calls.guard).toEqual(["check", "check", "check"]);
  });

  it("refuses a request with no CF-Connecting-IP when the key has a list, even if X-Forwarded-For matches", async () => {
    const h = harness();
    const { key } = await seedKey({ allowedIps: ["203.0.113.0/24"] });
    const res = await h.call(key, "/v1/things", { headers: { "x-forwarded-for": "203.0.113.7" } });
    expect(res.status).toBe(403);
    expect((await errorOf(res)).code).toBe("IP_NOT_ALLOWED");
    expect(h.calls.origin).toHaveLength(0);
  });

  it("takes no quota for a refused address, and a revoked key still answers KEY_REVOKED first", async () => {
    const h = harness();
    const { key, record } = await seedKey({ allowedIps: ["203.0.113.0/24"], limit: 1 });
    expect((await h.call(key, "/v1/things", { headers: { "cf-connecting-ip": "198.51.100.1" } })).status).toBe(403);
    expect((await h.call(key, "/v1/things", { headers: { "cf-connecting-ip": "203.0.113.1" } })).status).toBe(200);
    await guardStub(record.id).revoke({
      settings: { keyId: record.id, version: 2, limit: 1, windowSeconds: 60, expiresAt: null, revoked: false, revokeAt: null },
      at: null,
    });
    const res = await h.call(key, "/v1/things", { headers: { "cf-connecting-ip": "198.51.100.1" } });
    expect((await errorOf(res)).code).toBe("KEY_REVOKED");
  });

  it("keys without a list work from any address or none", async () => {
    const h = harness();
    const { key } = await seedKey();
    expect((await h.call(key)).status).toBe(200);
    expect((await h.call(key, "/v1/things", { headers: { "cf-connecting-ip": "198.51.100.1" } })).status).toBe(200);
  });
});

describe("allowedIps through the admin API", () => {
  const org = () => `org_${crypto.randomUUID().slice(0, 8)}`;
  const admin = async (o: string) => ({ authorization: `Bearer ${await devToken({ org: o })}`, "content-type": "application/json" });

  it("stores the normalised list, shows it in the key's view and enforces it at the gateway", async () => {
    const h = harness();
    const o = org();
    const res = await h.send(`/_keyward/v1/orgs/${o}/keys`, {
      method: "POST",
      headers: await admin(o),
      body: JSON.stringify({ label: "office", allowedIps: ["127.0.0.1", "::1/128", "203.0.113.9/24"] }),
    });
    expect(res.status).toBe(201);
    const created = (await res.json()) as { id: string; key: string; allowedIps: string[] };
    expect(created.allowedIps).toEqual(["127.0.0.1/32", "::1/128", "203.0.113.0/24"]);
    const shown = (await (await h.send(`/_keyward/v1/orgs/${o}/keys/${created.id}`, { headers: await admin(o) })).json()) as { allowedIps: string[] };
    expect(shown.allowedIps).toEqual(created.allowedIps);
    expect((await h.call(created.key, "/v1/things", { headers: { "cf-connecting-ip": "::1" } })).status).toBe(200);
    expect((await h.call(created.key, "/v1/things", { headers: { "cf-connecting-ip": "10.0.0.1" } })).status).toBe(403);
  });

  it("answers an invalid CIDR at create with 400 INVALID_REQUEST naming the entry, and creates nothing", async () => {
    const h = harness();
    const o = org();
    const res = await h.send(`/_keyward/v1/orgs/${o}/keys`, {
      method: "POST",
      headers: await admin(o),
      body: JSON.stringify({ label: "office", allowedIps: ["127.0.0.1", "10.0.0.0/33"] }),
    });
    expect(res.status).toBe(400);
    const body = await errorOf(res);
    expect(body).toMatchObject({ code: "INVALID_REQUEST", field: "allowedIps.1" });
    expect(h.calls.kv.put).toBe(0);
    const list = (await (await h.send(`/_keyward/v1/orgs/${o}/keys`, { headers: await admin(o) })).json()) as { keys: unknown[] };
    expect(list.keys).toEqual([]);
  });
});
