import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { FLUSH_DELAY_MS } from "../src/guard/admission-log";
import { ROWLESS_KEPT } from "../src/guard/hold-book";
import { KeyGuard } from "../src/guard/key-guard";
import { type HeaderSettles, HOST_MS, headerSettles, SETTLE_TRIES, type SettleItem } from "../src/guard/settle-batcher";
import { adminClient, paidKey } from "./support/admin-client";
import { guardStub } from "./support/harness";

/** Settlements coalesced per key in an isolate (src/guard/settle-batcher.ts, docs/metering.md "Settling"). */
const POLICY = { rules: [{ method: "POST", path: "/v1/chat", permission: null, reserve: 100, holdSeconds: 60 }] };

type Status = {
  credits: { remaining: number } | null;
  holdsOpen: number;
  holds: { open: { id: string }[]; recent: { id: string; charge: number | null; closedBy: string }[] };
};

const statusOf = async (id: string) =>
  (await runInDurableObject(guardStub(id), (g: KeyGuard) =>
    g.describe({ keyId: id, version: 0, limit: 1, windowSeconds: 1, expiresAt: null, revoked: false, revokeAt: null }),
  )) as unknown as Status;

/** A fake guard: records each batch and answers when the test says so. */
function fakeGuard() {
  const batches: { keyId: string; items: SettleItem[]; answer: () => void; fail: (e: unknown) => void }[] = [];
  const send = (keyId: string, items: SettleItem[]) =>
    new Promise<unknown>((answer, fail) => {
      batches.push({ keyId, items, answer: () => answer(undefined), fail });
    });
  return { batches, send };
}

const header = (requestId: string, charge = 1): SettleItem => ({ requestId, charge, fromHeader: true });

/** headerSettles with each settlement as a promise: resolved when applied, rejected when given up on. */
function promised(settles: HeaderSettles) {
  return {
    settle: (keyId: string, item: SettleItem, keepAlive?: (work: Promise<unknown>) => void) =>
      new Promise<void>((applied, failed) => settles.settle(keyId, item, { keepAlive, applied, failed })),
    carry: settles.carry,
  };
}

describe("headerSettles (src/guard/settle-batcher.ts)", () => {
  afterEach(() => {
    vi.restoreAllMocks();
    vi.useRealTimers();
  });

  it("carries every queued settlement of a key on its next check, and sends none on an RPC of its own", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    const g = fakeGuard();
    const settles = promised(headerSettles(g.send, { waitMs: 50, giveUpMs: 1000 }));
    const done = ["r0", "r1", "r2"].map((id) => settles.settle("key_a", header(id)));
    const carried = settles.carry("key_a");
    expect(carried?.items.map((i) => i.requestId)).toEqual(["r0", "r1", "r2"]);
    expect(settles.carry("key_a")).toBeNull();
    expect(settles.carry("key_b")).toBeNull();
    carried?.answered();
    await Promise.all(done);
    await vi.advanceTimersByTimeAsync(5000);
    expect(g.batches).toHaveLength(0);
  });

  it("sends the queue on one RPC when no check carries it within waitMs, and each key on its own", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    const g = fakeGuard();
    const settles = promised(headerSettles(g.send, { waitMs: 50, giveUpMs: 1000 }));
    const done = [settles.settle("key_a", header("a0")), settles.settle("key_b", header("b0")), settles.settle("key_a", header("a1"))];
    await vi.advanceTimersByTimeAsync(49);
    expect(g.batches).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(g.batches.map((b) => [b.keyId, b.items.map((i) => i.requestId)])).toEqual([
      ["key_a", ["a0", "a1"]],
      ["key_b", ["b0"]],
    ]);
    for (const b of g.batches) b.answer();
    await Promise.all(done);
  });

  it("sets one timer per key's queue, in its first settlement's request, not one per settlement (timers cost CPU)", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    const timers = vi.spyOn(globalThis, "setTimeout");
    const g = fakeGuard();
    const settles = promised(headerSettles(g.send, { waitMs: 50, giveUpMs: 1000 }));
    const done = Array.from({ length: 10 }, (_, i) => settles.settle("key_a", header(`r${i}`)));
    expect(timers).toHaveBeenCalledTimes(1);
    settles.carry("key_a")?.answered();
    await Promise.all(done);
    expect(timers).toHaveBeenCalledTimes(1);
  });

  it("carries at most maxBatch settlements per RPC; the rest wait for the next", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    const g = fakeGuard();
    const settles = promised(headerSettles(g.send, { waitMs: 50, giveUpMs: 1000, maxBatch: 4 }));
    for (let i = 0; i < 10; i++) void settles.settle("key_a", header(`r${i}`));
    expect(settles.carry("key_a")?.items).toHaveLength(4);
    expect(settles.carry("key_a")?.items).toHaveLength(4);
    expect(settles.carry("key_a")?.items).toHaveLength(2);
    expect(settles.carry("key_a")).toBeNull();
  });

  it("queues each settlement of a failed check again (one more RPC each would add to an overloaded guard): the next check carries it", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    const g = fakeGuard();
    const settles = promised(headerSettles(g.send, { waitMs: 50, giveUpMs: 1000 }));
    const done = [settles.settle("key_a", header("r0")), settles.settle("key_a", header("r1"))];
    settles.carry("key_a")?.failed();
    await vi.advanceTimersByTimeAsync(0);
    expect(g.batches).toHaveLength(0);
    const next = settles.carry("key_a");
    expect(next?.items.map((i) => i.requestId)).toEqual(["r0", "r1"]);
    next?.answered();
    await Promise.all(done);
  });

  it("never strands a key's queue behind an RPC that never answers (its request cancelled): later ones go, the stranded one is queued again", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    const g = fakeGuard();
    const settles = promised(headerSettles(g.send, { waitMs: 50, giveUpMs: 1000 }));
    const stranded = settles.settle("key_a", header("lost"));
    await vi.advanceTimersByTimeAsync(50);
    expect(g.batches).toHaveLength(1); // never answered
    const later = settles.settle("key_a", header("later"));
    await vi.advanceTimersByTimeAsync(50);
    expect(g.batches.map((b) => b.items.map((i) => i.requestId))).toEqual([["lost"], ["later"]]);
    g.batches[1]?.answer();
    await later;
    // Given up on at 50 + 1000 ms, queued again; sent 50 ms later, as the key's queue.
    await vi.advanceTimersByTimeAsync(999);
    expect(g.batches).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(g.batches.map((b) => b.items.map((i) => i.requestId))).toEqual([["lost"], ["later"], ["lost"]]);
    g.batches[2]?.answer();
    await stranded;
  });

  it("rejects a settlement only once SETTLE_TRIES carriers failed it; the key's next settlements still go", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    const g = fakeGuard();
    const settles = promised(headerSettles(g.send, { waitMs: 50, giveUpMs: 1000 }));
    const failed = Promise.allSettled([settles.settle("key_a", header("r0")), settles.settle("key_a", header("r1"))]);
    for (let i = 0; i < SETTLE_TRIES; i++) {
      await vi.advanceTimersByTimeAsync(50);
      expect(g.batches[i]?.items.map((it) => it.requestId)).toEqual(["r0", "r1"]);
      g.batches[i]?.fail(new Error("guard unavailable"));
    }
    expect(await failed).toEqual([
      { status: "rejected", reason: new Error("guard unavailable") },
      { status: "rejected", reason: new Error("guard unavailable") },
    ]);
    const after = settles.settle("key_a", header("r2"));
    await vi.advanceTimersByTimeAsync(50);
    g.batches[SETTLE_TRIES]?.answer();
    await expect(after).resolves.toBeUndefined();
  });
});

describe("headerSettles: the key's timer, held by one request at a time (src/guard/settle-batcher.ts)", () => {
  afterEach(() => {
    vi.restoreAllMocks();
    vi.useRealTimers();
  });

  /** A keepAlive (a request's waitUntil) that records what it was given and whether it has ended. */
  function requestOf() {
    const held: { ended: boolean }[] = [];
    const keepAlive = (work: Promise<unknown>) => {
      const entry = { ended: false };
      held.push(entry);
      void work.then(() => {
        entry.ended = true;
      });
    };
    return { held, keepAlive };
  }

  it("arms about one timer per waitMs on a busy key, and clears none: not one timer per settlement", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    const timers = vi.spyOn(globalThis, "setTimeout");
    const clears = vi.spyOn(globalThis, "clearTimeout");
    const g = fakeGuard();
    const settles = promised(headerSettles(g.send, { waitMs: 50, giveUpMs: 1000 }));
    // A settlement every 5 ms for 200 ms, each carried by the next check (before: a timer and a clear for each of the 40).
    const done: Promise<void>[] = [];
    for (let i = 0; i < 40; i++) {
      done.push(settles.settle("key_a", header(`r${i}`)));
      await vi.advanceTimersByTimeAsync(5);
      settles.carry("key_a")?.answered();
    }
    await Promise.all(done);
    expect(timers.mock.calls.length).toBeLessThanOrEqual(6);
    expect(clears).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1000);
    expect(g.batches).toHaveLength(0);
  });

  it("holds the first settlement's request while anything is queued or out, then lets it go; the others' requests never hold it", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    const g = fakeGuard();
    const settles = promised(headerSettles(g.send, { waitMs: 50, giveUpMs: 1000 }));
    const first = requestOf();
    const second = requestOf();
    const done = [settles.settle("key_a", header("r0"), first.keepAlive), settles.settle("key_a", header("r1"), second.keepAlive)];
    expect(first.held).toHaveLength(1);
    expect(second.held).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(50);
    expect(g.batches).toHaveLength(1); // sent from the first's request, which waits for its answer
    await vi.advanceTimersByTimeAsync(100);
    expect(first.held[0]?.ended).toBe(false);
    g.batches[0]?.answer();
    await Promise.all(done);
    await vi.advanceTimersByTimeAsync(50);
    expect(first.held[0]?.ended).toBe(true);
  });

  it("hands the timer to the next settlement after HOST_MS, so no request is held past a Worker's waitUntil limit", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    const g = fakeGuard();
    const settles = promised(headerSettles(g.send, { waitMs: 50, giveUpMs: 1000 }));
    const requests = Array.from({ length: 60 }, () => requestOf());
    for (const [i, r] of requests.entries()) {
      void settles.settle("key_a", header(`r${i}`), r.keepAlive);
      await vi.advanceTimersByTimeAsync(20);
      settles.carry("key_a")?.answered();
    }
    const hosts = requests.flatMap((r, i) => (r.held.length > 0 ? [i] : []));
    expect(hosts).toEqual([0, HOST_MS / 20]);
    expect(requests[0]?.held[0]?.ended).toBe(true);
    expect(g.batches).toHaveLength(0);
  });

  it("tells a settlement's request through plain callbacks, from the request that learns it: nothing waits on a promise", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    const g = fakeGuard();
    const settles = headerSettles(g.send, { waitMs: 50, giveUpMs: 1000 });
    const heard: string[] = [];
    const hooks = (id: string) => ({ applied: () => heard.push(`${id} applied`), failed: () => heard.push(`${id} failed`) });
    for (const id of ["r0", "r1"]) settles.settle("key_a", header(id), hooks(id));
    const carried = settles.carry("key_a");
    expect(heard).toEqual([]);
    carried?.answered(); // in the carrier's request, at once
    expect(heard).toEqual(["r0 applied", "r1 applied"]);
    settles.settle("key_a", header("r2"), hooks("r2"));
    for (let i = 0; i < SETTLE_TRIES; i++) settles.carry("key_a")?.failed();
    expect(heard).toEqual(["r0 applied", "r1 applied", "r2 failed"]);
  });

  it("replaces a host whose timer never fires (its request cancelled): the next settlement sends the key's queue", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    const g = fakeGuard();
    const settles = promised(headerSettles(g.send, { waitMs: 50, giveUpMs: 1000 }));
    const stranded = settles.settle("key_a", header("r0"));
    vi.clearAllTimers(); // the first request's timer is gone with its request
    await vi.advanceTimersByTimeAsync(200);
    expect(g.batches).toHaveLength(0);
    const next = settles.settle("key_a", header("r1"));
    await vi.advanceTimersByTimeAsync(50);
    expect(g.batches.map((b) => b.items.map((i) => i.requestId))).toEqual([["r0", "r1"]]);
    g.batches[0]?.answer();
    await Promise.all([stranded, next]);
  });
});

const tick = () => new Promise((r) => setTimeout(r, 0));

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
    // Every settle RPC from here fails (overloaded: answered 503 at once, not retried by the client; the batch is queued again, SETTLE_TRIES times).
    for (let i = 0; i < SETTLE_TRIES; i++) client.h.faults.push({ overloaded: true });
    release();
    expect((await Promise.all(pending)).map((r) => r.status)).toEqual(Array(20).fill(200));
    await client.h.settle();
    expect(client.h.calls.guard.filter((m) => m.startsWith("settle"))).toHaveLength(SETTLE_TRIES);
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
    // A batch after the hold's first FLUSH_DELAY_MS (a batch at once leaves it for the next).
    await runInDurableObject(guardStub(id), (g: KeyGuard) => KeyGuard.hooks(g).room.flush(Date.now() + FLUSH_DELAY_MS));
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
      // A batch at once leaves holds younger than FLUSH_DELAY_MS for the next, and their reserves out of the balance it writes.
      KeyGuard.hooks(g).room.flush();
      expect(stored(state.storage)).toEqual({ holds: 1, open: 1, remaining: 1_000_000 - 100 });
      KeyGuard.hooks(g).room.flush(Date.now() + FLUSH_DELAY_MS);
      expect(stored(state.storage)).toEqual({ holds: 11, open: 11, remaining: 1_000_000 - 1100 });
    });
  });

  it("forgets holds a batch left for the next together with their reserves on an abrupt restart (those requests are charged nothing)", async () => {
    const id = await keyWithOneHold();
    await runInDurableObject(guardStub(id), async (g: KeyGuard) => {
      for (let i = 0; i < 3; i++) await g.check(metered(id, `req_young_${i}`));
      KeyGuard.hooks(g).room.flush();
    });
    await evictDurableObject(guardStub(id)); // before the next batch
    expect(await statusOf(id)).toMatchObject({ holdsOpen: 1, credits: { remaining: 1_000_000 - 100 } });
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

  it("deletes an open hold's row when its header settlement is written, in the step that writes the refund", async () => {
    const id = await keyWithOneHold();
    const requestId = await runInDurableObject(guardStub(id), (g: KeyGuard) => KeyGuard.hooks(g).room.meter.book.view().open[0]?.id as string);
    await runInDurableObject(guardStub(id), async (g: KeyGuard, state) => {
      const rows = KeyGuard.hooks(g).room.counters.rowsWritten;
      await g.check({ ...metered(id, "req_next"), settles: [{ requestId, charge: 30, fromHeader: true }] });
      // Applied in memory: nothing written before the batch.
      expect(stored(state.storage)).toEqual({ holds: 1, open: 1, remaining: 1_000_000 - 100 });
      KeyGuard.hooks(g).room.flush();
      // The settled one's row deleted (before: updated, kept, and deleted by the alarm later); the new one left for the next batch.
      expect(stored(state.storage)).toEqual({ holds: 0, open: 0, remaining: 1_000_000 - 30 });
      expect(KeyGuard.hooks(g).room.counters.rowsWritten - rows).toBeLessThanOrEqual(5);
    });
  });

  it("writes no hold row for requests settled from their header before their batch was written", async () => {
    const client = adminClient({ policy: POLICY, origin: () => new Response("{}") });
    const { id } = await paidKey(client, 1_000_000);
    await runInDurableObject(guardStub(id), async (g: KeyGuard, state) => {
      const rows = KeyGuard.hooks(g).room.counters.rowsWritten;
      for (let i = 0; i < 10; i++) await g.check(metered(id, `req_quick_${i}`));
      const settles = Array.from({ length: 10 }, (_, i) => ({ requestId: `req_quick_${i}`, charge: 25, fromHeader: true as const }));
      await g.check({ ...metered(id, "req_quick_10"), settles });
      KeyGuard.hooks(g).room.flush(Date.now() + FLUSH_DELAY_MS);
      // One open hold (the last request's); before, ten closed hold rows too, each deleted by the alarm later.
      expect(stored(state.storage)).toEqual({ holds: 1, open: 1, remaining: 1_000_000 - 25 * 10 - 100 });
      // The balance, that hold and the admissions' row.
      expect(KeyGuard.hooks(g).room.counters.rowsWritten - rows).toBeLessThanOrEqual(4);
    });
  });

  it("keeps the latest ROWLESS_KEPT holds settled from their header in memory, no more; a settle of a forgotten one answers unknown and changes nothing", async () => {
    const client = adminClient({ policy: POLICY, origin: () => new Response("{}") });
    const { id } = await paidKey(client, 10_000_000);
    const n = ROWLESS_KEPT + 10;
    await runInDurableObject(guardStub(id), async (g: KeyGuard) => {
      const ids = Array.from({ length: n }, (_, i) => `req_many_${i}`);
      for (const requestId of ids) await g.check(metered(id, requestId));
      await g.settleHolds({ items: ids.map((requestId) => ({ requestId, charge: 1, fromHeader: true as const })) });
      const room = KeyGuard.hooks(g).room;
      room.flush(Date.now() + FLUSH_DELAY_MS);
      // Before: every closed hold stayed in memory until a minute past its expiry (a busy key: hundreds of thousands).
      expect([...room.meter.book.all()]).toHaveLength(ROWLESS_KEPT);
      const remaining = room.state?.credits?.remaining;
      expect(remaining).toBe(10_000_000 - n);
      expect(await g.settleHolds({ items: [{ requestId: "req_many_0", charge: 50 }] })).toEqual([{ kind: "unknown" }]);
      expect(await g.settleHolds({ items: [{ requestId: `req_many_${n - 1}`, charge: 50 }] })).toEqual([
        { kind: "settled", charged: 1, uncharged: 0, repeated: true },
      ]);
      expect(room.state?.credits?.remaining).toBe(remaining);
    });
  });

  it("crash bound: an abrupt crash forgets a header settlement not yet written, and its hold is then charged its reserve; a POST settle repeat writes it first", async () => {
    const id = await keyWithOneHold();
    const first = await runInDurableObject(guardStub(id), (g: KeyGuard) => KeyGuard.hooks(g).room.meter.book.view().open[0]?.id as string);
    await runInDurableObject(guardStub(id), async (g: KeyGuard) => {
      for (let i = 0; i < 2; i++) await g.check(metered(id, `req_crash_${i}`));
      KeyGuard.hooks(g).room.flush();
      expect(await g.settleHolds({ items: [{ requestId: first, charge: 10, fromHeader: true }] })).toEqual([
        { kind: "settled", charged: 10, uncharged: 0, repeated: false },
      ]);
      // The origin repeats one with POST /settle: its 200 must outlive a crash, so everything pending is written first.
      await g.settleHolds({ items: [{ requestId: "req_crash_0", charge: 20, fromHeader: true }] });
      expect(await g.settleHolds({ items: [{ requestId: "req_crash_0", charge: 99 }] })).toEqual([
        { kind: "settled", charged: 20, uncharged: 0, repeated: true },
      ]);
      await g.settleHolds({ items: [{ requestId: "req_crash_1", charge: 40, fromHeader: true }] });
      KeyGuard.hooks(g).room.log.unschedule(); // the crash comes before the batch's timer
    });
    await evictDurableObject(guardStub(id));
    // Forgotten: req_crash_1's settlement (its hold is open again, its reserve held). Kept: the two written before the repeat's answer.
    const after = await statusOf(id);
    expect(after).toMatchObject({ holdsOpen: 1, credits: { remaining: 1_000_000 - 10 - 20 - 100 } });
    expect((after.holds as unknown as { open: { id: string }[] }).open.map((h) => h.id)).toEqual(["req_crash_1"]);
    // Its expiry charges the reserve: 60 more than the forgotten charge of 40, never more than the reserve.
    await runInDurableObject(guardStub(id), (g: KeyGuard) => KeyGuard.hooks(g).runAlarm(Date.now() + 61_000));
    expect(await statusOf(id)).toMatchObject({ holdsOpen: 0, credits: { remaining: 1_000_000 - 10 - 20 - 100 } });
  });

  it("writes header settlements at once when the credits they moved reach pendingCap of the balance", async () => {
    const client = adminClient({ policy: POLICY, origin: () => new Response("{}") });
    const { id } = await paidKey(client, 10_000);
    await runInDurableObject(guardStub(id), async (g: KeyGuard, state) => {
      for (let i = 0; i < 10; i++) await g.check(metered(id, `req_cap_${i}`));
      // A batch leaves young holds for the next only up to pendingCap(9,000) = 450 of reserves: the 4 newest.
      KeyGuard.hooks(g).room.flush();
      expect(stored(state.storage)).toMatchObject({ open: 6, remaining: 9_400 });
      KeyGuard.hooks(g).room.flush(Date.now() + FLUSH_DELAY_MS);
      expect(stored(state.storage)).toMatchObject({ open: 10, remaining: 9_000 });
      const settle = (requestId: string) => g.settleHolds({ items: [{ requestId, charge: 0, fromHeader: true }] });
      // pendingCap(9,400) is 470: four refunds of 100 wait for the batch (its timer, or the next admissions)...
      for (let i = 0; i < 4; i++) await settle(`req_cap_${i}`);
      expect(stored(state.storage)).toMatchObject({ open: 10, remaining: 9_000 });
      // ...the fifth (500 of pendingCap(9,500) = 475) is written at once, with the four before it.
      await settle("req_cap_4");
      expect(stored(state.storage)).toMatchObject({ open: 5, remaining: 9_500 });
    });
  });
});

describe("header settlements: carried on checks, applied in memory, written with the next batch (docs/metering.md)", () => {
  it("carries each settlement of one connection's sequential requests on the next check: no settle RPC but the last", async () => {
    const client = adminClient({ policy: POLICY, origin: () => new Response("{}", { headers: { "keyward-charge": "25" } }) });
    const { id, key } = await paidKey(client, 100_000);
    for (let i = 0; i < 20; i++) expect((await client.h.call(key, "/v1/chat", { method: "POST" })).status).toBe(200);
    await client.h.settle();
    // Before: one settleHolds RPC per request (nothing in flight to coalesce with at one connection).
    expect(client.h.calls.guard.filter((m) => m.startsWith("settle"))).toEqual(["settleHolds"]);
    expect(client.h.calls.guard.filter((m) => m === "check")).toHaveLength(20);
    expect(await statusOf(id)).toMatchObject({ holdsOpen: 0, credits: { remaining: 100_000 - 25 * 20 } });
  });
});
