// Local admission through the real gateway, key guard and lease holders inside
// workerd, several locations simulated by X-Keyward-Dev-Location (development).
import { env, evictDurableObject, runInDurableObject } from "cloudflare:test";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { KeySettings } from "../src/guard/guard-types";
import { holderName } from "../src/guard/lease-desk";
import { LeaseHolder } from "../src/guard/lease-holder";
import { DEV_LOCATION_HEADER } from "../src/guard/lease-location";
import type { KeyRecord } from "../src/lookup/key-record";
import { guardStub, harness, seedKey } from "./support/harness";

const LOCATIONS = ["SYD", "FRA", "IAD"];

const holder = (keyId: string, location: string) => env.LEASE_HOLDER?.get(env.LEASE_HOLDER.idFromName(holderName(keyId, location)));

async function asks(keyId: string, location: string): Promise<number> {
  const stub = holder(keyId, location);
  if (!stub) throw new Error("no LEASE_HOLDER binding");
  return runInDurableObject(stub, (h: LeaseHolder) => LeaseHolder.hooks(h).describe().asks);
}

const settingsOf = (record: KeyRecord, version: number): KeySettings => ({
  keyId: record.id,
  version,
  limit: record.rateLimit.limit,
  windowSeconds: record.rateLimit.windowSeconds,
  expiresAt: null,
  revoked: false,
  revokeAt: null,
});

type H = ReturnType<typeof harness>;
const at = (h: H, key: string, location: string) => h.call(key, "/v1/things", { headers: { [DEV_LOCATION_HEADER]: location } });
const codeOf = async (res: Response) => ((await res.json()) as { code: string }).code;

describe("local admission inside workerd, three simulated locations", () => {
  it("decides a local key's requests at each location's holder: 90 concurrent requests on a limit of 30 admit 27 to 30, and only those reach the origin", async () => {
    const h = harness();
    const { key, record } = await seedKey({ limit: 30, admission: "local" });
    const statuses = await Promise.all(Array.from({ length: 90 }, (_, i) => at(h, key, LOCATIONS[i % 3] as string).then((r) => r.status)));
    const admitted = statuses.filter((s) => s === 200).length;
    expect(admitted).toBeGreaterThanOrEqual(27);
    expect(admitted).toBeLessThanOrEqual(30);
    expect(statuses.filter((s) => s !== 200).every((s) => s === 429)).toBe(true);
    expect(h.calls.origin.length).toBe(admitted);
    // Each location asked its key's guard for leases (far fewer asks than requests), and no check went to the guard itself.
    for (const loc of LOCATIONS) expect(await asks(record.id, loc)).toBeGreaterThan(0);
    expect(h.calls.guard.filter((c) => c === "check").length).toBe(0);
  });

  it("never admits more than the limit and nothing after a revocation returned, over random interleavings of requests, recalls and holder crashes", async () => {
    type Op = { op: "burst"; locs: number[] } | { op: "recall" } | { op: "crash"; loc: number } | { op: "revokeDuring"; locs: number[] };
    const op: fc.Arbitrary<Op> = fc.oneof(
      { weight: 5, arbitrary: fc.array(fc.nat({ max: 2 }), { minLength: 1, maxLength: 12 }).map((locs) => ({ op: "burst" as const, locs })) },
      { weight: 1, arbitrary: fc.constant({ op: "recall" as const }) },
      { weight: 1, arbitrary: fc.nat({ max: 2 }).map((loc) => ({ op: "crash" as const, loc })) },
      { weight: 1, arbitrary: fc.array(fc.nat({ max: 2 }), { minLength: 1, maxLength: 12 }).map((locs) => ({ op: "revokeDuring" as const, locs })) },
    );
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 60 }), fc.array(op, { minLength: 1, maxLength: 8 }), async (limit, ops) => {
        const h = harness();
        const { key, record } = await seedKey({ limit, admission: "local" });
        let version = 1;
        let admitted = 0;
        let revoked = false;
        const send = async (loc: number) => {
          const res = await at(h, key, LOCATIONS[loc] as string);
          if (res.status === 200) admitted++;
          return res;
        };
        for (const o of ops) {
          if (o.op === "burst") {
            const results = await Promise.all(o.locs.map(send));
            // After a revocation returned, the next request at every location is KEY_REVOKED.
            if (revoked) for (const r of results) expect([r.status, await codeOf(r)]).toEqual([403, "KEY_REVOKED"]);
          } else if (o.op === "recall") {
            // A limit change to the same limit: every lease is recalled before it returns.
            version++;
            await guardStub(record.id).setLimit({ settings: settingsOf(record, version), limit, windowSeconds: 60 });
          } else if (o.op === "crash") {
            // A holder that is not running holds nothing to lose.
            const stub = holder(record.id, LOCATIONS[o.loc] as string);
            if (stub) await evictDurableObject(stub).catch((e: Error) => expect(e.message).toMatch(/not currently running/));
          } else {
            // Requests racing a revocation: any may be admitted while it runs; none once it has returned.
            version++;
            const racing = Promise.all(o.locs.map(send));
            await guardStub(record.id).revoke({ settings: { ...settingsOf(record, version), revoked: false }, at: null });
            revoked = true;
            await racing;
            for (const loc of [0, 1, 2]) {
              const r = await send(loc);
              expect([r.status, await codeOf(r)]).toEqual([403, "KEY_REVOKED"]);
            }
          }
        }
        expect(admitted).toBeLessThanOrEqual(limit);
        expect(h.calls.origin.length).toBe(admitted);
      }),
      { numRuns: 15 },
    );
  });

  it("a holder that crashes loses at most its own lease: the other locations keep admitting from theirs without asking", async () => {
    const h = harness();
    const limit = 40;
    const { key, record } = await seedKey({ limit, admission: "local" });
    for (const loc of LOCATIONS) expect((await at(h, key, loc)).status).toBe(200);
    const before = await Promise.all(LOCATIONS.map((loc) => asks(record.id, loc)));
    await evictDurableObject(holder(record.id, "SYD") as DurableObjectStub);
    // FRA and IAD admit again from the lease they hold: no new ask.
    expect((await at(h, key, "FRA")).status).toBe(200);
    expect((await at(h, key, "IAD")).status).toBe(200);
    expect([await asks(record.id, "FRA"), await asks(record.id, "IAD")]).toEqual([before[1], before[2]]);
    // Then everyone uses the window up: at most SYD's lost lease (a share of ceil(limit / 10), one of it used) is missing.
    const statuses = await Promise.all(Array.from({ length: 90 }, (_, i) => at(h, key, LOCATIONS[i % 3] as string).then((r) => r.status)));
    const admitted = 5 + statuses.filter((s) => s === 200).length;
    expect(admitted).toBeLessThanOrEqual(limit);
    expect(admitted).toBeGreaterThanOrEqual(limit - Math.ceil(limit / 10) + 1);
  });

  it("a lowered limit binds every location from its next request: the limit change recalls the leases granted under the old one (threats.md 151)", async () => {
    const h = harness();
    const { key, record } = await seedKey({ limit: 100, admission: "local" });
    // Each location takes a lease of 10 (a tenth of the limit) and uses one of it.
    for (const loc of LOCATIONS) expect((await at(h, key, loc)).status).toBe(200);
    // KV still says 100 (the gateway's record is older): the guard's newer word wins.
    await guardStub(record.id).setLimit({ settings: settingsOf(record, 2), limit: 5, windowSeconds: 60 });
    // Three are used in the window, so two are left under the new limit, wherever they are asked for;
    // the 27 units the old leases still had are gone.
    const after: number[] = [];
    for (let round = 0; round < 4; round++) for (const loc of LOCATIONS) after.push((await at(h, key, loc)).status);
    expect(after.filter((s) => s === 200).length).toBe(2);
    expect(after.filter((s) => s !== 200).every((s) => s === 429)).toBe(true);
    expect(h.calls.origin.length).toBe(3 + 2);
  });

  it("production ignores X-Keyward-Dev-Location: the request is decided by the key's guard, no holder of that name is asked", async () => {
    const prod = harness({
      vars: {
        KEYWARD_ENV: "production",
        ORIGIN_URL: "https://origin.test",
        KEYWARD_DEV_JWT_SECRET: undefined,
        KEYWARD_OPERATOR_TOKEN: "a".repeat(64),
        KEYWARD_SIGNING_KEY: JSON.stringify({ ...JSON.parse(env.KEYWARD_SIGNING_KEY), kid: "prod-test" }),
        USER_JWKS_URL: "https://idp.example/jwks",
      },
    });
    const { key, record } = await seedKey({ limit: 5, admission: "local" });
    expect((await at(prod, key, "SYD")).status).toBe(200);
    expect(prod.calls.guard).toContain("check");
    expect(await asks(record.id, "SYD")).toBe(0);
    // The same request in development goes to SYD's holder.
    const dev = harness();
    expect((await at(dev, key, "SYD")).status).toBe(200);
    expect(await asks(record.id, "SYD")).toBe(1);
    expect(dev.calls.guard).not.toContain("check");
  });

  it("refuses a malformed simulated location with 400 INVALID_REQUEST, without reaching the origin", async () => {
    const h = harness();
    const { key } = await seedKey({ admission: "local" });
    const res = await at(h, key, "not a location!");
    expect(res.status).toBe(400);
    expect(await codeOf(res)).toBe("INVALID_REQUEST");
    expect(h.calls.origin.length).toBe(0);
  });

  it("keeps credits central: the guard answers a holder's ask for a key with credits with central, and the holder has it decide (threats.md 155)", async () => {
    const h = harness();
    const { key, record } = await seedKey({ limit: 10, admission: "local" });
    const settings = settingsOf(record, 2);
    await guardStub(record.id).adjustCredits({ settings, change: { operation: "set", value: 2 } });
    expect(await guardStub(record.id).lease({ holder: "SYD", settings, report: null })).toEqual({ kind: "central" });
    // Through the gateway (its KV record does not know the credits): two admitted from the balance, then 429 QUOTA_EXCEEDED from the guard.
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await at(h, key, "SYD")).status);
    expect(statuses).toEqual([200, 200, 429]);
    expect(h.calls.origin.length).toBe(2);
  });

  it("keeps a central key central even with the header: its guard decides", async () => {
    const h = harness();
    const { key, record } = await seedKey({ limit: 5 });
    expect((await at(h, key, "SYD")).status).toBe(200);
    expect(h.calls.guard).toContain("check");
    expect(await asks(record.id, "SYD")).toBe(0);
  });
});
