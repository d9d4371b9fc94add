/**
 * The key guard's admin verbs that do more than set a field (key-guard.ts holds
 * the rest): each adopts the caller's settings, changes the state, and writes it
 * before answering (GuardRoom.change, GuardRoom.commit). A change that a granted
 * lease could outrun recalls every location's lease before it answers.
 */
import { raiseAlerts } from "./balance-alerts";
import { adjusted, type CreditOperation, MAX_CREDITS, refilled } from "./credits";
import type { GuardRoom } from "./guard-room";
import { applyRevoke } from "./guard-state";
import type { CreditsResult, GuardStatus, KeySettings } from "./guard-types";
import { rolled } from "./key-secrets";
import { MAIN_WINDOW, type NamedLimit, splitLimits } from "./named-limits";

/** Revokes now, or schedules it (`at`, for a rotation grace period). Idempotent. */
export async function revoke(room: GuardRoom, input: { settings: KeySettings; at: number | null }): Promise<GuardStatus> {
  const now = Date.now();
  const state = room.adopt(input.settings, now);
  if (state.revoked) {
    await room.leases.quiet(); // a recall still under way for the first revoke
    return room.snapshot();
  }
  applyRevoke(state, input.at, now);
  const status = room.commit(state, input.settings);
  // A scheduled revocation's time, or the end of a revoked key's storage (storage-end.ts).
  await room.rearm();
  // A scheduled one needs no recall: leases never outlive revokeAt (lease-grant.ts).
  if (input.at === null || input.at <= now) await room.recallLeases(state);
  return status;
}

/** Operator limit change: effective on the next request; the window is kept. */
export async function setLimit(room: GuardRoom, input: { settings: KeySettings; limit: number; windowSeconds: number }): Promise<GuardStatus> {
  room.meter.configure([], []);
  const status = room.change(input.settings, (s) => Object.assign(s, { limit: input.limit, windowMs: input.windowSeconds * 1000, limits: null }));
  if (room.state) await room.recallLeases(room.state);
  return status;
}

/**
 * Suspends or resumes the key from the next request, keeping its window, so an
 * enabled key comes back as it was. A stale record cannot flip it back (adoptSettings).
 */
export async function setDisabled(room: GuardRoom, input: { settings: KeySettings; disabled: boolean }): Promise<GuardStatus> {
  const status = room.change(input.settings, (s) => Object.assign(s, { disabled: input.disabled }));
  if (input.disabled && room.state) await room.recallLeases(room.state);
  return status;
}

/**
 * An admin's change to the balance (set, increment, decrement), in order with
 * the requests around it, so none is lost or counted twice. Increment and
 * decrement of an unlimited key are refused, and so is a change that would take
 * the balance over MAX_CREDITS (nothing changes).
 */
export function adjustCredits(room: GuardRoom, input: { settings: KeySettings; change: CreditOperation }): CreditsResult {
  const now = Date.now();
  const state = room.adopt(input.settings, now);
  if (state.credits === null && input.change.operation !== "set") return { ok: false, reason: "unlimited" };
  const next = adjusted(state.credits, input.change, now);
  if (next !== null && next.remaining > MAX_CREDITS)
    return { ok: false, reason: "over_cap", remaining: state.credits === null ? 0 : refilled(state.credits, now).remaining };
  state.credits = next;
  raiseAlerts(room);
  return { ok: true, status: room.commit(state, input.settings) };
}

/** Every window of the key, by name (named-limits.ts); in force on the next request, each window's admissions kept. */
export async function setLimits(room: GuardRoom, input: { settings: KeySettings; limits: NamedLimit[] }): Promise<GuardStatus> {
  const { main, extra } = splitLimits(input.limits);
  const status = room.change(input.settings, (s) =>
    Object.assign(s, {
      limit: main.limit,
      windowMs: main.windowSeconds * 1000,
      limits: extra.length === 0 && main.name === MAIN_WINDOW ? null : input.limits,
    }),
  );
  room.meter.configure(extra, room.log.window.held());
  // Every location's lease was granted under the old limits (lease-desk.ts).
  if (room.state) await room.recallLeases(room.state);
  return { ...status, ...(room.state?.limits ? { limits: room.state.limits } : {}) };
}

/**
 * A new secret for the key (roll): `next` is accepted from now on; `replaced`
 * until `until` (its grace), then refused like a revoked key. Written before
 * this returns, so the very next request anywhere meets it.
 */
export async function roll(room: GuardRoom, input: { settings: KeySettings; replaced: string; next: string; until: number }): Promise<GuardStatus> {
  const now = Date.now();
  const status = room.change(input.settings, (s) => {
    s.secrets = rolled(s.secrets, input.replaced, input.next, input.until, now);
  });
  // A rolled key is admitted centrally (lease-grant.ts): leases granted before the roll end now.
  if (room.state) await room.recallLeases(room.state);
  return status;
}
