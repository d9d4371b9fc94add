import { abortAllDurableObjects, evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { KeySettings } from "../src/guard/guard-types";
import { KeyGuard, pendingCap } from "../src/guard/key-guard";
import { randomId } from "../src/keys/key-format";
import { guardStub, harness, seedKey } from "./support/harness";

function settings(overrides: Partial<KeySettings> = {}): KeySettings {
  return { keyId: randomId("key"), version: 1, limit: 60, windowSeconds: 60, expiresAt: null, revoked: false, revokeAt: null, ...overrides };
}

async function admitN(keyId: string, s: KeySettings, n: number): Promise<number> {
  const stub = guardStub(keyId);
  let admitted = 0;
  for (let i = 0; i < n; i++) {
    const verdict = await stub.check({ requestId: crypto.randomUUID(), consume: true, settings: s });
    if (verdict.kind === "admitted") admitted++;
  }
  return admitted;
}

describe("key guard durability (threats.md 17, 28)", () => {
  it("stays revoked after the guard is evicted and restarted (as on a deploy)", async () => {
    const h = harness();
    const { key, record } = await seedKey();
    const s = settings({ keyId: record.id, version: 2 });
    await guardStub(record.id).revoke({ settings: s, at: null });
    await evictDurableObject(guardStub(record.id));
    const res = await h.call(key);
    expect(res.status).toBe(403);
    expect(((await res.json()) as { code: string }).code).toBe("KEY_REVOKED");
  });

  it("still enforces exactly the limit after a restart mid-window, once pending writes are flushed", async () => {
    const s = settings({ limit: 40 });
    expect(await admitN(s.keyId, s, 25)).toBe(25);
    await runInDurableObject(guardStub(s.keyId), (g: KeyGuard) => KeyGuard.hooks(g).flush());
    await evictDurableObject(guardStub(s.keyId));
    expect(await runInDurableObject(guardStub(s.keyId), (guard: KeyGuard) => guard.describe(s).inWindow)).toBe(25);
    expect(await admitN(s.keyId, s, 30)).toBe(15);
  });

  it.each([60, 400])(
    "forgets at most pendingCap(limit) - 1 admissions (under 5 percent of the limit) at a limit of %i when aborted abruptly",
    async (limit) => {
      const s = settings({ limit });
      const stub = guardStub(s.keyId);
      // One short of the limit, which is a multiple of the batch: the last
      // (limit - 1) % pendingCap(limit) admissions are pending when the guard dies.
      const tail = (limit - 1) % pendingCap(limit);
      expect(await admitN(s.keyId, s, limit - 1 - tail)).toBe(limit - 1 - tail);
      // The tail at once, so that the flush timer cannot write it first.
      const verdicts = await Promise.all(Array.from({ length: tail }, () => stub.check({ requestId: crypto.randomUUID(), consume: true, settings: s })));
      expect(verdicts.map((v) => v.kind)).toEqual(Array(tail).fill("admitted"));
      const pending = (await stub.describe(s)).pending;
      expect(pending).toBeGreaterThan(0);
      expect(pending).toBeLessThan(pendingCap(limit));
      await abortAllDurableObjects();
      const readmitted = await admitN(s.keyId, s, limit);
      // One slot was free before the crash; any admission beyond it is one the guard forgot.
      expect(readmitted - 1).toBeLessThanOrEqual(pending);
      expect(readmitted - 1).toBeLessThan(Math.max(1, limit * 0.05));
    },
  );

  it("bounds pending admissions to about 5% of the limit, at least 1", () => {
    expect([1, 20, 21, 60, 1000, 1e9].map(pendingCap)).toEqual([1, 1, 2, 3, 50, 5e7]);
  });

  it("writes pending admissions on its own within the flush delay", async () => {
    const s = settings({ limit: 100 });
    await admitN(s.keyId, s, 3);
    expect((await guardStub(s.keyId).describe(s)).pending).toBe(3);
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect((await guardStub(s.keyId).describe(s)).pending).toBe(0);
  });

  it("applies a raised or lowered limit on the next request without resetting the window", async () => {
    const s = settings({ limit: 10 });
    const stub = guardStub(s.keyId);
    expect(await admitN(s.keyId, s, 5)).toBe(5);
    await stub.setLimit({ settings: { ...s, version: 2 }, limit: 5, windowSeconds: 60 });
    expect(await admitN(s.keyId, s, 1)).toBe(0);
    await stub.setLimit({ settings: { ...s, version: 3 }, limit: 7, windowSeconds: 60 });
    expect(await admitN(s.keyId, s, 5)).toBe(2);
    // A stale record (version 1, limit 10) cannot undo the operator's change.
    expect((await stub.describe(s)).limit).toBe(7);
  });

  it("keeps a limit change across a restart", async () => {
    const s = settings({ limit: 10 });
    const stub = guardStub(s.keyId);
    await stub.setLimit({ settings: { ...s, version: 2 }, limit: 1, windowSeconds: 60 });
    await evictDurableObject(stub);
    expect(await admitN(s.keyId, s, 3)).toBe(1);
  });

  it("writes a small limit's admissions at once, one row each at most", async () => {
    const s = settings({ limit: 10 });
    await admitN(s.keyId, s, 4);
    const status = await guardStub(s.keyId).describe(s);
    expect(status.pending).toBe(0);
    expect(status.rowsWritten).toBeLessThanOrEqual(4);
  });

  it("writes at most one storage row per admitted request and none per refused one", async () => {
    const s = settings({ limit: 40 });
    const stub = guardStub(s.keyId);
    await admitN(s.keyId, s, 40);
    await runInDurableObject(stub, (g: KeyGuard) => KeyGuard.hooks(g).flush());
    const afterAdmitted = (await stub.describe(s)).rowsWritten;
    expect(afterAdmitted).toBeGreaterThan(0);
    expect(afterAdmitted).toBeLessThanOrEqual(40);
    await admitN(s.keyId, s, 20);
    await runInDurableObject(stub, (g: KeyGuard) => KeyGuard.hooks(g).flush());
    expect((await stub.describe(s)).rowsWritten).toBe(afterAdmitted);
  });

  it("schedules a revocation for later and applies it at that time (alarm)", async () => {
    const s = settings();
    const stub = guardStub(s.keyId);
    // An hour ahead, and the alarm run with a fake clock: no real wait, and no
    // race between the admission below and a deadline a few milliseconds away.
    const at = Date.now() + 3_600_000;
    const status = await stub.revoke({ settings: { ...s, version: 2 }, at });
    expect(status).toMatchObject({ revoked: false, revokeAt: at });
    // The guard's alarm fires by then.
    const alarm = await runInDurableObject(stub, (_g: KeyGuard, state) => state.storage.getAlarm());
    expect(alarm).not.toBeNull();
    expect(alarm).toBeLessThanOrEqual(at);
    expect(await admitN(s.keyId, s, 1)).toBe(1);
    // An alarm a moment early leaves the key usable.
    await runInDurableObject(stub, (g: KeyGuard) => KeyGuard.hooks(g).runAlarm(at - 1));
    expect(await admitN(s.keyId, s, 1)).toBe(1);
    await runInDurableObject(stub, (g: KeyGuard) => KeyGuard.hooks(g).runAlarm(at));
    expect((await stub.check({ requestId: "r", consume: true, settings: s })).kind).toBe("revoked");
  });
});
