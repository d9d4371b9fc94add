import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { KeyGuard } from "../src/guard/key-guard";
import { type SettleItem, settleBatcher } from "../src/guard/settle-batcher";
import type { SettleResult } from "../src/metering/holds";
import { adminClient, paidKey } from "./support/admin-client";
import { guardStub } from "./support/harness";

/** Settlements coalesced per key in an isolate (src/guard/settle-batcher.ts, docs/metering.md "Settling"). */
const POLICY = { rules: [{ method: "POST", path: "/v1/chat", permission: null, reserve: 100, holdSeconds: 60 }] };

type Status = { credits: { remaining: number } | null; holdsOpen: number; holds: { recent: { id: string; charge: number | null; closedBy: string }[] } };

const statusOf = async (id: string) =>
  (await runInDurableObject(guardStub(id), (g: KeyGuard) =>
    g.describe({ keyId: id, version: 0, limit: 1, windowSeconds: 1, expiresAt: null, revoked: false, revokeAt: null }),
  )) as unknown as Status;

/** A fake guard: records each batch and answers when the test says so. */
function fakeGuard() {
  const batches: { keyId: string; items: SettleItem[]; answer: (results: SettleResult[]) => void; fail: (e: unknown) => void }[] = [];
  const send = (keyId: string, items: SettleItem[]) =>
    new Promise<SettleResult[]>((answer, fail) => {
      batches.push({ keyId, items, answer, fail });
    });
  const settledAll = (items: SettleItem[]): SettleResult[] => items.map((i) => ({ kind: "settled", charged: i.charge, uncharged: 0, repeated: false }));
  return { batches, send, settledAll };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

describe("settleBatcher", () => {
  it("sends the first settlement of a key at once and every one that arrived meanwhile as one batch when it returns", async () => {
    const g = fakeGuard();
    const settle = settleBatcher(g.send);
    const results = Array.from({ length: 50 }, (_, i) => settle("key_a", { requestId: `r${i}`, charge: i }));
    await tick();
    expect(g.batches.map((b) => b.items.length)).toEqual([1]);
    g.batches[0]?.answer(g.settledAll(g.batches[0].items));
    await tick();
    expect(g.batches.map((b) => b.items.length)).toEqual([1, 49]);
    expect(g.batches[1]?.items.map((i) => i.requestId)).toEqual(Array.from({ length: 49 }, (_, i) => `r${i + 1}`));
    g.batches[1]?.answer(g.settledAll(g.batches[1].items));
    // Each caller gets its own answer: the charge it sent.
    expect((await Promise.all(results)).map((r) => (r.kind === "settled" ? r.charged : -1))).toEqual(Array.from({ length: 50 }, (_, i) => i));
    // The lane is idle again: the next settlement goes at once, alone.
    void settle("key_a", { requestId: "late", charge: 1 });
    await tick();
    expect(g.batches).toHaveLength(3);
    expect(g.batches[2]?.items).toEqual([{ requestId: "late", charge: 1 }]);
  });

  it("never holds one key's settlements behind another key's batch", async () => {
    const g = fakeGuard();
    const settle = settleBatcher(g.send);
    void settle("key_a", { requestId: "a1", charge: 1 });
    void settle("key_b", { requestId: "b1", charge: 2 });
    await tick();
    expect(g.batches.map((b) => [b.keyId, b.items.length])).toEqual([
      ["key_a", 1],
      ["key_b", 1],
    ]);
  });

  it("carries at most maxBatch settlements per RPC; the rest go in the next", async () => {
    const g = fakeGuard();
    const settle = settleBatcher(g.send, 4);
    const results = Array.from({ length: 10 }, (_, i) => settle("key_a", { requestId: `r${i}`, charge: 1 }));
    for (let round = 0; round < 4; round++) {
      await tick();
      const batch = g.batches[round];
      batch?.answer(g.settledAll(batch.items));
    }
    await Promise.all(results);
    expect(g.batches.map((b) => b.items.length)).toEqual([1, 4, 4, 1]);
  });

  it("rejects every settlement of a failed batch, only those, and sends the next batch all the same", async () => {
    const g = fakeGuard();
    const settle = settleBatcher(g.send);
    const first = settle("key_a", { requestId: "r0", charge: 1 });
    const queued = [settle("key_a", { requestId: "r1", charge: 1 }), settle("key_a", { requestId: "r2", charge: 1 })];
    await tick();
    g.batches[0]?.answer(g.settledAll(g.batches[0].items));
    await tick();
    g.batches[1]?.fail(new Error("guard unavailable"));
    expect(await first).toMatchObject({ kind: "settled" });
    expect(await Promise.allSettled(queued)).toEqual([
      { status: "rejected", reason: new Error("guard unavailable") },
      { status: "rejected", reason: new Error("guard unavailable") },
    ]);
    const after = settle("key_a", { requestId: "r3", charge: 5 });
    await tick();
    g.batches[2]?.answer(g.settledAll(g.batches[2].items));
    expect(await after).toMatchObject({ kind: "settled", charged: 5 });
  });

  it("rejects a settlement the guard's answer has no result for", async () => {
    const settle = settleBatcher(async () => []);
    await expect(settle("key_a", { requestId: "r0", charge: 1 })).rejects.toThrow("0 results for 1 settlements");
  });
});

/** A client whose origin answers every metered request with Keyward-Charge: 25, once `release()` is called. */
function gatedClient() {
  let release = () => {};
  const gate = new Promise<void>((r) => {
    release = r;
  });
  const client = adminClient({
    policy: POLICY,
    origin: async () => {
      await gate;
      return new Response("{}", { headers: { "content-type": "application/json", "keyward-charge": "25" } });
    },
  });
  return { client, release };
}

describe("settling metered requests in batches, through the gateway", () => {
  it("settles 200 concurrent requests of one key in a few RPCs, each charged exactly once", async () => {
    const { client, release } = gatedClient();
    const { id, key } = await paidKey(client, 100_000);
    const pending = Array.from({ length: 200 }, () => client.h.call(key, "/v1/chat", { method: "POST" }));
    while (client.h.calls.origin.length < 200) await tick();
    release();
    const responses = await Promise.all(pending);
    await client.h.settle();
    expect(responses.map((r) => r.status)).toEqual(Array(200).fill(200));
    const settles = client.h.calls.guard.filter((m) => m.startsWith("settle")).length;
    expect(settles).toBeGreaterThanOrEqual(1);
    expect(settles).toBeLessThanOrEqual(5);
    expect(client.h.calls.guard.filter((m) => m === "check")).toHaveLength(200);
    const status = await statusOf(id);
    expect(status).toMatchObject({ holdsOpen: 0, credits: { remaining: 100_000 - 25 * 200 } });
    expect(status.holds.recent.every((h) => h.charge === 25 && h.closedBy === "settle")).toBe(true);
  });

  it("logs a failed batch once per request, and its holds expire at their reserve as documented", async () => {
    const { client, release } = gatedClient();
    const { id, key } = await paidKey(client, 10_000);
    const pending = Array.from({ length: 20 }, () => client.h.call(key, "/v1/chat", { method: "POST" }));
    while (client.h.calls.origin.length < 20) await tick();
    // Every settle RPC from here fails (overloaded: answered 503 at once, not retried).
    for (let i = 0; i < 20; i++) client.h.faults.push({ overloaded: true });
    release();
    expect((await Promise.all(pending)).map((r) => r.status)).toEqual(Array(20).fill(200));
    await client.h.settle();
    const settles = client.h.calls.guard.filter((m) => m.startsWith("settle")).length;
    expect(settles).toBeLessThan(20);
    const failed = client.h.logs.map((l) => JSON.parse(l) as { event: string; requestId?: string }).filter((l) => l.event === "settle_failed");
    const ids = client.h.calls.origin.map((r) => r.headers.get("x-keyward-request-id"));
    expect(failed.map((l) => l.requestId).sort()).toEqual([...ids].sort());
    expect(await statusOf(id)).toMatchObject({ holdsOpen: 20, credits: { remaining: 10_000 - 20 * 100 } });
    await runInDurableObject(guardStub(id), (g: KeyGuard) => KeyGuard.hooks(g).runAlarm(Date.now() + 61_000));
    expect(await statusOf(id)).toMatchObject({ holdsOpen: 0, credits: { remaining: 10_000 - 20 * 100 } });
  });

  it("settles a request named twice in one batch exactly once: the second answers the first", async () => {
    const client = adminClient({ policy: POLICY, origin: () => new Response("{}") });
    const { id, key } = await paidKey(client, 1000);
    expect((await client.h.call(key, "/v1/chat", { method: "POST" })).status).toBe(200);
    const requestId = client.h.calls.origin[0]?.headers.get("x-keyward-request-id") as string;
    const results = await guardStub(id).settleHolds({
      items: [
        { requestId, charge: 10 },
        { requestId, charge: 90 },
        { requestId: "req_unknown", charge: 5 },
      ],
    });
    expect(results).toEqual([
      { kind: "settled", charged: 10, uncharged: 0, repeated: false },
      { kind: "settled", charged: 10, uncharged: 0, repeated: true },
      { kind: "unknown" },
    ]);
    expect((await statusOf(id)).credits?.remaining).toBe(990);
  });
});

/** The guard's settings as a caller with an old record sends them (version 0: the guard's own state wins). */
const oldSettings = (id: string) => ({ keyId: id, version: 0, limit: 1, windowSeconds: 1, expiresAt: null, revoked: false, revokeAt: null });

/** What the guard's storage holds now: hold rows, open ones, and the balance row's remaining credits. */
function stored(storage: DurableObjectStorage) {
  const holds = storage.sql.exec<{ n: number; open: number }>("SELECT count(*) AS n, count(*) - count(charge) AS open FROM holds").one();
  const row = storage.sql.exec<{ credits: string | null }>("SELECT credits FROM guard_state WHERE id = 1").one();
  return { holds: holds.n, open: holds.open, remaining: (JSON.parse(row.credits ?? "null") as { remaining: number } | null)?.remaining ?? null };
}

describe("holds written with their admissions' batch (docs/metering.md, Durability)", () => {
  /** A key with one open hold (its first metered request), everything written. */
  async function keyWithOneHold() {
    const client = adminClient({ policy: POLICY, origin: () => new Response("{}") });
    const { id, key } = await paidKey(client, 1_000_000);
    expect((await client.h.call(key, "/v1/chat", { method: "POST" })).status).toBe(200);
    await runInDurableObject(guardStub(id), (g: KeyGuard) => KeyGuard.hooks(g).room.flush());
    return id;
  }
  const metered = (id: string, requestId: string) => ({
    requestId,
    consume: true,
    cost: 1,
    hold: { reserve: 100, holdMs: 60_000 },
    settings: oldSettings(id),
  });

  it("writes ten admissions' holds in one step with the balance they took, not one step per admission", async () => {
    const id = await keyWithOneHold();
    await runInDurableObject(guardStub(id), async (g: KeyGuard, state) => {
      expect(stored(state.storage)).toEqual({ holds: 1, open: 1, remaining: 1_000_000 - 100 });
      for (let i = 0; i < 10; i++) expect(await g.check(metered(id, `req_batch_${i}`))).toMatchObject({ kind: "admitted" });
      // Admitted and held in memory; neither the holds nor the balance written yet, never one without the other.
      expect(stored(state.storage)).toEqual({ holds: 1, open: 1, remaining: 1_000_000 - 100 });
      KeyGuard.hooks(g).room.flush();
      expect(stored(state.storage)).toEqual({ holds: 11, open: 11, remaining: 1_000_000 - 1100 });
    });
  });

  it("forgets unwritten holds together with the balance they took on an abrupt restart, and a settlement writes everything before it answers", async () => {
    const id = await keyWithOneHold();
    await runInDurableObject(guardStub(id), async (g: KeyGuard) => {
      for (let i = 0; i < 10; i++) await g.check(metered(id, `req_lost_${i}`));
      // The crash comes before the batch's timer (FLUSH_DELAY_MS): the timer never runs.
      KeyGuard.hooks(g).room.log.unschedule();
    });
    await evictDurableObject(guardStub(id));
    expect(await statusOf(id)).toMatchObject({ holdsOpen: 1, credits: { remaining: 1_000_000 - 100 } });
    // Ten more, then one of them settled: the settlement writes them all, the balance and itself, before it answers.
    await runInDurableObject(guardStub(id), async (g: KeyGuard, state) => {
      for (let i = 0; i < 10; i++) await g.check(metered(id, `req_kept_${i}`));
      expect(await g.settleHolds({ items: [{ requestId: "req_kept_0", charge: 30 }] })).toEqual([
        { kind: "settled", charged: 30, uncharged: 0, repeated: false },
      ]);
      expect(stored(state.storage)).toEqual({ holds: 11, open: 10, remaining: 1_000_000 - 100 - 900 - 30 });
    });
    await evictDurableObject(guardStub(id));
    expect(await statusOf(id)).toMatchObject({ holdsOpen: 10, credits: { remaining: 1_000_000 - 1030 } });
  });
});
