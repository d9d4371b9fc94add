/** Closing metered requests' holds (docs/metering.md): by their settlement, or at their reserve on expiry. */
import type { Closing, Hold, SettleResult } from "../metering/holds";
import { withTimeout } from "../timeout";
import { pendingCap } from "./admission-log";
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
 * one past its expiry is expired now, at its reserve. One result per item, in order.
 *
 * A batch with an item not from a response header (`POST /settle`, whose caller
 * reads the answer) is written before it answers: every hold it closed, every
 * change still unwritten (a header's closing that a repeat answers among them)
 * and the balance, in one storage step, and the org's guard told. A batch of
 * header settlements only (nobody waits on its answer) is applied in memory and
 * written with the next admissions' batch (applyHeaderSettles).
 */
export async function settleHolds(room: GuardRoom, guards: HoldGuards, items: readonly SettleItem[]): Promise<SettleResult[]> {
  if (items.every((i) => i.fromHeader === true)) return applyHeaderSettles(room, guards, items);
  const { results, closed } = closeItems(room, items, false);
  await written(room, guards, closed);
  return results;
}

/**
 * Header settlements (from a settle batch, or carried on a check RPC): applied
 * in memory now, written with the next batch of admissions, within
 * FLUSH_DELAY_MS, or at once when the credits they moved reach pendingCap of
 * the balance (the crash bound, docs/metering.md). The org's guard is told off
 * this call's path (should that fail, its alarm charges its hold the reserve).
 */
export function applyHeaderSettles(room: GuardRoom, guards: HoldGuards, items: readonly SettleItem[]): SettleResult[] {
  const { results, closed } = closeItems(room, items, true);
  const state = room.state;
  if (closed.length === 0 || state === null) return results;
  if (state.credits !== null) room.log.creditsDirty = true;
  const flush = () => room.flush();
  if (state.credits !== null && room.meter.book.pendingUnits >= pendingCap(state.credits.remaining)) flush();
  else room.log.flushSoon(state.limit, state.credits, flush);
  void tellOrg(room, guards, closed);
  return results;
}

/** Closes each item's hold in memory, in order (see settleHolds); answers the results and what closed. */
function closeItems(room: GuardRoom, items: readonly SettleItem[], fromHeader: boolean): { results: SettleResult[]; closed: SettleItem[] } {
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
    const closing = closeOpen(room, hold, item.charge, "settle", now, fromHeader);
    return { kind: "settled", charged: closing.charged, uncharged: closing.uncharged, repeated: false };
  });
  return { results, closed };
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
function closeOpen(room: GuardRoom, hold: Hold, charge: number, by: "settle" | "expiry", now: number, fromHeader = false): Closing {
  const state = room.state as GuardState;
  const credits = state.credits === null ? null : refilled(state.credits, now);
  const closing = room.meter.close(hold, charge, credits?.remaining ?? null, by, fromHeader);
  if (credits !== null) state.credits = { ...credits, remaining: credits.remaining + closing.refund };
  raiseAlerts(room);
  return closing;
}

/** Writes the balance the closed holds moved, with every change not yet written (one step), then tells the org's guard. */
async function written(room: GuardRoom, guards: HoldGuards, closed: SettleItem[]): Promise<void> {
  // A repeat of a header's closing not yet written is written too: its answer must outlive a crash.
  if (closed.length === 0 && room.meter.book.pending === 0) return;
  // The balance with every hold not yet written (these among them), then the admissions before them: one storage step.
  room.writeState();
  room.flush();
  await tellOrg(room, guards, closed);
}

/** Tells the org's guard, when the org has credits, what the closed holds charged (not async: most orgs have none). */
function tellOrg(room: GuardRoom, guards: HoldGuards, closed: SettleItem[]): Promise<unknown> | undefined {
  const org = room.state?.orgCredits ?? null;
  if (org === null || closed.length === 0) return undefined;
  // Should this fail, the org's own alarm charges the org's holds their reserve, ORG_HOLD_GRACE_MS later (org-ask.ts).
  const stub = guards.get(guards.idFromName(orgGuardName(org)));
  return withTimeout(Promise.resolve(stub.settleHolds({ items: closed })), ORG_GUARD_TIMEOUT_MS, "org guard").catch(() => undefined);
}
