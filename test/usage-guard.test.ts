import { abortAllDurableObjects, evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import type { KeySettings } from "../src/guard/guard-types";
import { KeyGuard, pendingCap } from "../src/guard/key-guard";
import { REFUSAL_SAVE_DELAY_MS } from "../src/guard/usage-reporter";
import { randomId } from "../src/keys/key-format";
import { guardStub, harness, seedKey } from "./support/harness";
import { devToken } from "./support/tokens";

function settings(overrides: Partial<KeySettings> = {}): KeySettings {
  return { keyId: randomId("key"), version: 1, limit: 60, windowSeconds: 60, expiresAt: null, revoked: false, revokeAt: null, ...overrides };
}

const HOUR = 3_600_000;

async function minuteTotals(s: KeySettings) {
  const usage = await guardStub(s.keyId).readUsage({ settings: s, granularity: "minute", from: Date.now() - HOUR, to: Date.now() + HOUR });
  const refused: Record<string, number> = {};
  let admitted = 0;
  for (const b of usage.buckets) {
    admitted += b.admitted;
    for (const [code, n] of Object.entries(b.refused)) refused[code] = (refused[code] ?? 0) + n;
  }
  return { admitted, refused, usage };
}

const settingsOfRecord = (record: { id: string; version: number; rateLimit: { limit: number; windowSeconds: number } }): KeySettings =>
  settings({ keyId: record.id, version: record.version, limit: record.rateLimit.limit, windowSeconds: record.rateLimit.windowSeconds });

describe("usage counting in the key guard", () => {
  it("counts exactly what a concurrent burst was admitted and refused", async () => {
    const h = harness();
    const { key, record } = await seedKey({ limit: 10 });
    const statuses = await Promise.all(Array.from({ length: 30 }, () => h.call(key).then((r) => r.status)));
    expect(statuses.filter((s) => s === 200)).toHaveLength(10);
    const { admitted, refused } = await minuteTotals(settingsOfRecord(record));
    expect(admitted).toBe(10);
    expect(refused).toEqual({ RATE_LIMITED: 20 });
  });

  it("counts refusals decided before the guard by their codes, with the key's org", async () => {
    const h = harness();
    const { key, record } = await seedKey({ org: "org_acme" });
    const stranger = await devToken({ org: "org_other", role: "org:member" });
    const res = await h.send("/v1/things", { headers: { "x-api-key": key, authorization: `Bearer ${stranger}` } });
    expect(res.status).toBe(403);
    expect(h.calls.origin).toHaveLength(0);
    const bad = await h.send("/v1/things", { headers: { "x-api-key": key, authorization: "Bearer not.a.token" } });
    expect(bad.status).toBe(401);
    const { admitted, refused } = await minuteTotals(settingsOfRecord(record));
    expect(admitted).toBe(0);
    expect(refused).toEqual({ ORG_MISMATCH: 1, INVALID_USER_TOKEN: 1 });
    expect(await runInDurableObject(guardStub(record.id), (g: KeyGuard) => KeyGuard.hooks(g).room.reporter.usage.org)).toBe("org_acme");
  });

  it("counts expired and revoked keys, including a revoked record the guard is not asked about", async () => {
    const h = harness();
    const expired = await seedKey({ expiresAt: Date.now() - 1000 });
    expect((await h.call(expired.key)).status).toBe(403);
    expect((await minuteTotals(settingsOfRecord(expired.record))).refused).toEqual({ KEY_EXPIRED: 1 });
    const revoked = await seedKey({ status: "revoked", version: 2 });
    for (let i = 0; i < 3; i++) expect((await h.call(revoked.key)).status).toBe(403);
    // Notes are batched per isolate (at most one a second per key): the first is sent at once, the next two wait.
    expect(h.calls.guard.filter((m) => m === "note")).toHaveLength(1);
    expect((await minuteTotals(settingsOfRecord(revoked.record))).refused).toEqual({ KEY_REVOKED: 1 });
    expect(h.calls.origin).toHaveLength(0);
  });

  it("records where and how the key is used from request.cf and the headers", async () => {
    const h = harness();
    const { key, record } = await seedKey();
    const cf = { country: "FR", asn: 12322, colo: "CDG" };
    await h.call(key, "/v1/things", { cf, headers: { origin: "https://example.com", "user-agent": "Mozilla/5.0 Chrome/126.0" } } as RequestInit);
    await h.call(key, "/v1/things", { headers: { "user-agent": "curl/8" } });
    const { usage } = await minuteTotals(settingsOfRecord(record));
    expect(usage.locations).toEqual({ countries: ["FR"], asns: ["12322"], colos: ["CDG"] });
    expect(usage.lastUsedAt).not.toBeNull();
    const state = await runInDurableObject(guardStub(record.id), (g: KeyGuard) => KeyGuard.hooks(g).room.reporter.usage);
    expect(state.fresh.browser).toBe(1);
    expect(state.places[0]?.agents.values).toEqual(["chrome", "curl"]);
  });

  it("writes no extra storage row for counting admissions, and one for a burst of refusals, not one per refusal", async () => {
    const s = settings({ limit: 40 });
    const stub = guardStub(s.keyId);
    for (let i = 0; i < 60; i++) await stub.check({ requestId: crypto.randomUUID(), consume: true, settings: s, org: "org_rows", caller: null });
    const rows = () =>
      runInDurableObject(stub, (g: KeyGuard) => {
        const sql = (g as unknown as { ctx: DurableObjectState }).ctx.storage.sql;
        return {
          usage: sql.exec("SELECT COUNT(*) AS n FROM usage").one().n,
          withUsage: sql.exec("SELECT COUNT(*) AS n FROM admissions WHERE usage IS NOT NULL").one().n,
        };
      });
    // The 20 refusals are written together within REFUSAL_SAVE_DELAY_MS (threats.md 84); polled, not slept.
    await vi.waitFor(async () => expect((await rows()).usage).toBe(1), { timeout: REFUSAL_SAVE_DELAY_MS * 5, interval: 100 });
    const status = await stub.describe(s);
    // limit 40: a flush every pendingCap(40) = 2 admissions, 20 flushes, and one row for the 20 refusals.
    expect(status.pending).toBe(0);
    expect(status.rowsWritten).toBe(40 / pendingCap(40) + 1);
    expect(await rows()).toEqual({ usage: 1, withUsage: 40 / pendingCap(40) });
  });

  it("forgets on a crash at most the admissions still pending and the refusals since the last flush", async () => {
    const s = settings({ limit: 60 });
    const stub = guardStub(s.keyId);
    for (let i = 0; i < 50; i++) await stub.check({ requestId: crypto.randomUUID(), consume: true, settings: s, org: "org_crash", caller: null });
    const pending = (await stub.describe(s)).pending;
    expect(pending).toBeLessThan(pendingCap(60));
    await abortAllDurableObjects();
    const after = await minuteTotals(s);
    expect(after.admitted).toBeGreaterThanOrEqual(50 - pending);
    expect(after.admitted).toBeLessThanOrEqual(50);
  });
  it("sets its report alarm once, not again on each request after a wake, and again when the stored alarm is gone", async () => {
    const s = settings({ limit: 1000 });
    const stub = guardStub(s.keyId);
    const check = () => ({ requestId: crypto.randomUUID(), consume: true, settings: s, org: "org_wake", caller: null });
    await stub.check(check());
    // The alarm is set with the admission's write (the flush, on the next tick: guard-room.ts count).
    const armed = await runInDurableObject(stub, (guard: KeyGuard, state) => {
      KeyGuard.hooks(guard).flush();
      return state.storage.getAlarm();
    });
    expect(armed).not.toBeNull();
    const setsAfterWake = async () => {
      // Written first, as the flush timer does within 250 ms; an eviction comes after seconds idle.
      await runInDurableObject(stub, (guard: KeyGuard) => KeyGuard.hooks(guard).flush());
      await evictDurableObject(stub);
      return runInDurableObject(stub, async (guard: KeyGuard, state) => {
        let sets = 0;
        const setAlarm = state.storage.setAlarm.bind(state.storage);
        state.storage.setAlarm = (...args: Parameters<typeof setAlarm>) => {
          sets++;
          return setAlarm(...args);
        };
        await guard.check(check());
        await guard.check(check());
        KeyGuard.hooks(guard).flush();
        return { sets, alarm: await state.storage.getAlarm() };
      });
    };
    // Woken with the same report still due: the stored alarm stands.
    expect(await setsAfterWake()).toEqual({ sets: 0, alarm: armed });
    // Woken with no alarm stored (lost, or deleted): the first request sets it again.
    await runInDurableObject(stub, (_g: KeyGuard, state) => state.storage.deleteAlarm());
    expect(await setsAfterWake()).toEqual({ sets: 1, alarm: armed });
  });
});
