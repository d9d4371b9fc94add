/** The guard's side of local admission: deciding a location's lease ask (lease-book.ts, lease-desk.ts). */
import { decide } from "./decide";
import type { GuardRoom } from "./guard-room";
import type { LeaseAnswer, LeaseAsk, LeaseReturn } from "./lease-types";

/**
 * A location's lease holder asks for a share of the window (local admission,
 * lease-book.ts), giving back its previous lease with how it was used. The key's
 * state is checked as for a request. Credits, org credits, named windows and an
 * org's shared limit stay here: the holder forwards such a key's requests.
 */
export function grantLease(room: GuardRoom, ask: LeaseAsk): LeaseAnswer {
  const now = Date.now();
  const state = room.adopt(ask.settings, now);
  if (ask.report !== null) room.leaseUsed(room.leases.settle(ask.holder, ask.report, now, state.windowMs), ask.report.refused, ask.org, now);
  // A rolled key's secrets are judged per request (key-secrets.ts): only the guard knows them.
  if (state.secrets !== undefined) return { kind: "central" };
  const { verdict } = decide(state, room.log.window, { consume: false, cost: 1 }, now);
  if (verdict.kind !== "usable") return { kind: "refused", verdict };
  if (state.credits !== null || state.orgLimit !== null || state.orgCredits !== null || state.limits !== null) return { kind: "central" };
  const windowSeconds = Math.round(state.windowMs / 1000);
  const ends = [state.expiresAt, state.revokeAt].filter((t): t is number => t !== null);
  const result = room.leases.grant(ask.holder, now, {
    limit: state.limit,
    windowMs: state.windowMs,
    inWindow: room.log.window.count(now, state.windowMs),
    windowResetMs: verdict.resetMs,
    endsAt: ends.length === 0 ? null : Math.min(...ends),
  });
  if (!result.granted) return { kind: "refused", verdict: { kind: "limited", limit: state.limit, windowSeconds, retryAfterMs: result.retryAfterMs } };
  const { lease } = result;
  return { kind: "lease", grant: { id: lease.id, units: lease.units, ttlMs: lease.expiresAt - now, epoch: lease.epoch, limit: state.limit, windowSeconds } };
}

/**
 * A holder gives its lease back unasked (idle, or at its end: lease-holder.ts):
 * its unused units are free at once, its used ones stay reserved until their
 * last use plus the window (lease-book.ts settle). A report of a lease the book
 * no longer holds (recalled, or replaced meanwhile) frees nothing: what the book
 * keeps for it stays, which is the conservative side.
 */
export function takeBackLease(room: GuardRoom, back: LeaseReturn): void {
  const now = Date.now();
  const state = room.adopt(back.settings, now);
  room.leaseUsed(room.leases.settle(back.holder, back.report, now, state.windowMs), back.report.refused, back.org, now);
}
