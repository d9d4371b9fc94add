/** Closing a metered request's hold (docs/metering.md): by its settlement, or at its reserve on expiry. */
import type { Closing, Hold, SettleResult } from "../metering/holds";
import { withTimeout } from "../timeout";
import { raiseAlerts } from "./balance-alerts";
import { refilled } from "./credits";
import type { GuardRoom } from "./guard-room";
import type { GuardState } from "./guard-state";
import { Meter } from "./meter";
import { ORG_GUARD_TIMEOUT_MS, orgGuardName } from "./org-limit";

/** The guards' namespace as a settlement uses it (structural: this file need not import the guard class). */
export interface HoldGuards {
  idFromName(name: string): DurableObjectId;
  get(id: DurableObjectId): { settleHold(input: { requestId: string; charge: number }): unknown };
}

/**
 * Settles a metered request's hold with what it cost (docs/metering.md),
 * exactly once: a hold already closed answers its first closing and changes
 * nothing; one past its expiry is expired now, at its reserve. The balance and
 * the hold are written in one step; the org's guard, if it holds the request
 * too, is told before this answers.
 */
export async function settleHold(room: GuardRoom, guards: HoldGuards, input: { requestId: string; charge: number }): Promise<SettleResult> {
  const hold = room.meter.book.find(input.requestId);
  if (hold === undefined || room.state === null) return { kind: "unknown" };
  if (hold.charge !== null) return Meter.closedAnswer(hold);
  const now = Date.now();
  if (now >= hold.expiresAt) {
    await closeHold(room, guards, hold, hold.reserve, "expiry", now);
    return { kind: "expired", charged: hold.charge ?? hold.reserve };
  }
  const closing = await closeHold(room, guards, hold, input.charge, "settle", now);
  return { kind: "settled", charged: closing.charged, uncharged: closing.uncharged, repeated: false };
}

/** Closes an open hold against the balance (its refund, or a charge above the reserve), writes both, tells the org. */
export async function closeHold(room: GuardRoom, guards: HoldGuards, hold: Hold, charge: number, by: "settle" | "expiry", now: number): Promise<Closing> {
  const state = room.state as GuardState;
  const credits = state.credits === null ? null : refilled(state.credits, now);
  const { closing, rows } = room.meter.close(hold, charge, credits?.remaining ?? null, by);
  if (credits !== null) state.credits = { ...credits, remaining: credits.remaining + closing.refund };
  raiseAlerts(room);
  room.writeState();
  room.counters.rowsWritten += rows;
  const org = state.orgCredits;
  if (org !== null) {
    // Should this fail, the org's own alarm charges the org's hold its reserve, ORG_HOLD_GRACE_MS later (org-ask.ts).
    const stub = guards.get(guards.idFromName(orgGuardName(org)));
    await withTimeout(Promise.resolve(stub.settleHold({ requestId: hold.id, charge })), ORG_GUARD_TIMEOUT_MS, "org guard").catch(() => undefined);
  }
  return closing;
}
