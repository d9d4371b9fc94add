/** Closing metered requests' holds (docs/metering.md): by their settlement, or at their reserve on expiry. */
import type { Closing, Hold, SettleResult } from "../metering/holds";
import { withTimeout } from "../timeout";
import { raiseAlerts } from "./balance-alerts";
import { refilled } from "./credits";
import type { GuardRoom } from "./guard-room";
import type { GuardState } from "./guard-state";
import { Meter } from "./meter";
import { ORG_GUARD_TIMEOUT_MS, orgGuardName } from "./org-limit";
import type { SettleItem } from "./settle-batcher";

/** The guards' namespace as a settlement uses it (structural: this file need not import the guard class). */
export interface HoldGuards {
  idFromName(name: string): DurableObjectId;
  get(id: DurableObjectId): { settleHolds(input: { items: SettleItem[] }): unknown };
}

/**
 * Settles metered requests' holds with what each cost (docs/metering.md), in
 * order, each exactly once: a hold already closed (earlier, or by an item
 * before it in the same batch) answers its first closing and changes nothing;
 * one past its expiry is expired now, at its reserve. Every hold the batch
 * closed and the balance are written in one storage step; the org's guard, if
 * it holds the requests too, is told (in one call) before this answers. One
 * result per item, in order.
 */
export async function settleHolds(room: GuardRoom, guards: HoldGuards, items: readonly SettleItem[]): Promise<SettleResult[]> {
  const now = Date.now();
  const closed: SettleItem[] = [];
  const results = items.map((item): SettleResult => {
    const hold = room.meter.book.find(item.requestId);
    if (hold === undefined || room.state === null) return { kind: "unknown" };
    if (hold.charge !== null) return Meter.closedAnswer(hold);
    if (now >= hold.expiresAt) {
      closed.push({ requestId: hold.id, charge: hold.reserve });
      closeOpen(room, hold, hold.reserve, "expiry", now);
      return { kind: "expired", charged: hold.charge ?? hold.reserve };
    }
    closed.push({ requestId: hold.id, charge: item.charge });
    const closing = closeOpen(room, hold, item.charge, "settle", now);
    return { kind: "settled", charged: closing.charged, uncharged: closing.uncharged, repeated: false };
  });
  await written(room, guards, closed);
  return results;
}

/** Charges every due hold its reserve (the alarm): written in one step, the org told in one call. */
export async function expireHolds(room: GuardRoom, guards: HoldGuards, due: readonly Hold[], now: number): Promise<void> {
  for (const hold of due) closeOpen(room, hold, hold.reserve, "expiry", now);
  await written(
    room,
    guards,
    due.map((hold) => ({ requestId: hold.id, charge: hold.reserve })),
  );
}

/** Closes an open hold against the balance (its refund, or a charge above the reserve), in memory; written() stores it. */
function closeOpen(room: GuardRoom, hold: Hold, charge: number, by: "settle" | "expiry", now: number): Closing {
  const state = room.state as GuardState;
  const credits = state.credits === null ? null : refilled(state.credits, now);
  const { closing, rows } = room.meter.close(hold, charge, credits?.remaining ?? null, by);
  if (credits !== null) state.credits = { ...credits, remaining: credits.remaining + closing.refund };
  raiseAlerts(room);
  room.counters.rowsWritten += rows;
  return closing;
}

/** Writes the balance the closed holds moved (their rows are in the same step), then tells the org's guard. */
async function written(room: GuardRoom, guards: HoldGuards, closed: SettleItem[]): Promise<void> {
  if (closed.length === 0) return;
  // The balance with every hold not yet written (these among them), then the admissions before them: one storage step.
  room.writeState();
  room.flush();
  const org = room.state?.orgCredits ?? null;
  if (org === null) return;
  // Should this fail, the org's own alarm charges the org's holds their reserve, ORG_HOLD_GRACE_MS later (org-ask.ts).
  const stub = guards.get(guards.idFromName(orgGuardName(org)));
  await withTimeout(Promise.resolve(stub.settleHolds({ items: closed })), ORG_GUARD_TIMEOUT_MS, "org guard").catch(() => undefined);
}
