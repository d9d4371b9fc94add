import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import { FLUSH_DELAY_MS, flushDelay } from "../src/guard/admission-log";
import type { KeySettings } from "../src/guard/guard-types";
import { KeyGuard } from "../src/guard/key-guard";
import { randomId } from "../src/keys/key-format";
import { guardStub } from "./support/harness";
import { watchSql } from "./support/sql-spy";

// The sparse admission (issue 23): a key used less than about 4 times a second
// writes each admission alone, one row, as before; what is cut is the 250 ms its
// guard waited first, a pending timer that kept the object from hibernating
// (billed as duration). The window still survives an eviction; a crash forgets
// at most what a tick holds.

const settings = (): KeySettings => ({ keyId: randomId("key"), version: 1, limit: 1000, windowSeconds: 60, expiresAt: null, revoked: false, revokeAt: null });

describe("sparse admission", () => {
  it("waits no flush delay when nothing is pending and the last write is a delay old; a busy key still batches", () => {
    const now = 1_000_000;
    expect(flushDelay(1, 0, now)).toBe(0);
    expect(flushDelay(1, now - FLUSH_DELAY_MS, now)).toBe(0);
    // Written less than a delay ago: the key is busy, its admissions wait to share a row.
    expect(flushDelay(1, now - FLUSH_DELAY_MS + 1, now)).toBe(FLUSH_DELAY_MS);
    expect(flushDelay(2, 0, now)).toBe(FLUSH_DELAY_MS);
  });

  it("writes each sparse admission in one statement and one row, well before the flush delay, and the window survives an eviction", async () => {
    const s = settings();
    const stub = guardStub(s.keyId);
    const seen = { writes: 0, rows: 0 };
    const restore = await runInDurableObject(stub, (_g: KeyGuard, state) =>
      watchSql(state, (_query, cursor) => {
        if (cursor.rowsWritten > 0) seen.writes++;
        seen.rows += cursor.rowsWritten;
      }),
    );
    for (let i = 0; i < 3; i++) {
      const before = { ...seen };
      await stub.check({ requestId: crypto.randomUUID(), consume: true, settings: s, caller: null });
      // Written on the next tick: within a fraction of the 250 ms the guard used to wait.
      await vi.waitFor(async () => expect((await stub.describe(s)).pending).toBe(0), { timeout: FLUSH_DELAY_MS * 0.8, interval: 10 });
      // One statement writing one row per admission.
      expect(seen.writes - before.writes).toBe(1);
      expect(seen.rows - before.rows).toBe(1);
      // Sparse: the next admission comes more than a flush delay after this write.
      await runInDurableObject(stub, (g: KeyGuard) => {
        (KeyGuard.hooks(g).room.log as unknown as { lastWriteAt: number }).lastWriteAt -= FLUSH_DELAY_MS;
      });
    }
    await runInDurableObject(stub, () => restore());
    expect(seen.rows).toBe(3);
    await evictDurableObject(stub);
    expect((await stub.describe(s)).inWindow).toBe(3);
  });

  it("sets the report alarm with the admission's write, after the verdict, not in a write of its own before it", async () => {
    const s = settings();
    const stub = guardStub(s.keyId);
    await runInDurableObject(stub, async (guard: KeyGuard, state) => {
      const sets: number[] = [];
      const setAlarm = state.storage.setAlarm.bind(state.storage);
      state.storage.setAlarm = (at, options) => {
        sets.push(typeof at === "number" ? at : at.getTime());
        return setAlarm(at, options);
      };
      const room = KeyGuard.hooks(guard).room;
      // A woken guard's first counted request: nothing unreported, no alarm set.
      expect(room.schedule.unset).toBe(true);
      await guard.check({ requestId: crypto.randomUUID(), consume: true, settings: s, caller: null });
      // The verdict is out; neither the admission nor the alarm is written yet.
      expect(sets).toHaveLength(0);
      expect(room.log.pendingCount).toBe(1);
      await vi.waitFor(() => expect(room.log.pendingCount).toBe(0), { timeout: FLUSH_DELAY_MS * 0.8, interval: 5 });
      // Written together: the report's alarm (5 s after the first unreported request), once.
      expect(sets).toHaveLength(1);
      expect(await state.storage.getAlarm()).toBe(room.reporter.nextReportAt());
    });
  });
});
