import { isRevokedAt } from "../keys/key-model";
import { type Credits, nextRefillAt, refilled, trySpend } from "./credits";
import type { GuardState } from "./guard-state";
import type { CreditState, GuardVerdict } from "./guard-types";
import { secretAccepted } from "./key-secrets";
import type { WindowRefusal } from "./named-limits";
import type { SlidingWindow } from "./sliding-window";

/** What one request asks of its key's guard. */
export interface DecideRequest {
  /** false: only ask whether the key may be used; nothing is consumed. */
  consume: boolean;
  /** Credits (or charge-window units) an admitted request takes: its cost, or a metered route's reserve. */
  cost: number;
  /** An org's guard asked for its credits only (no shared limit): the window is neither asked nor counted. */
  noWindow?: boolean;
  /** Units of the window held by locations' leases (lease-book.ts): not for central admission. Default 0. */
  reserved?: number;
  /** The tag of the secret the request was made with (key-secrets.ts). */
  secret?: string | undefined;
}

/** A verdict, and the balance after it when an admission spent credits (the caller keeps it). */
export interface Decision {
  verdict: GuardVerdict;
  spent: Credits | null;
}

/** The main window's name when the operator named it (named-limits.ts), for the verdict. */
function mainName(state: GuardState): { name?: string } {
  const main = state.limits?.find((l) => l.unit === "requests");
  return main === undefined ? {} : { name: main.name };
}

/** A balance as a verdict reports it. */
export const creditState = (c: Credits): CreditState => ({ remaining: c.remaining, refillAmount: c.refill?.amount ?? null, nextRefillAt: nextRefillAt(c) });

/**
 * Decides one request at `now`, in the order a request meets the checks:
 * revoked, expired, disabled, then credits and the window together. No storage
 * and no clock: the state is only read, and the in-memory window records the
 * admission it grants (so the caller writes it, and keeps `spent`).
 */
export function decide(
  state: GuardState,
  window: SlidingWindow,
  request: DecideRequest,
  now: number,
  named: (now: number, units: number) => WindowRefusal | null = () => null,
): Decision {
  if (isRevokedAt(state.revoked, state.revokeAt, now)) return { verdict: { kind: "revoked" }, spent: null };
  // A replaced secret past its grace is refused as a revoked one would be, whatever KV still says of it.
  if (!secretAccepted(state.secrets, request.secret, now)) return { verdict: { kind: "revoked" }, spent: null };
  if (state.expiresAt !== null && now >= state.expiresAt) return { verdict: { kind: "expired" }, spent: null };
  // Suspended: refused before any permission or rate answer, and nothing is consumed.
  if (state.disabled) return { verdict: { kind: "disabled" }, spent: null };
  const windowSeconds = Math.round(state.windowMs / 1000);
  if (!request.consume) {
    const credits = state.credits === null ? null : creditState(refilled(state.credits, now));
    return { verdict: { kind: "usable", limit: state.limit, windowSeconds, ...window.peek(now, state.limit, state.windowMs), credits }, spent: null };
  }
  // Credits and window in one step: out of credits is answered without
  // touching the window, and a window refusal spends nothing.
  const spend = state.credits === null ? null : trySpend(state.credits, request.cost, now);
  if (spend !== null && !spend.ok) return { verdict: { kind: "exhausted", cost: request.cost, ...creditState(spend.credits) }, spent: null };
  // The named windows (named-limits.ts) before the main one: nothing is recorded until every window agrees.
  const refusal = named(now, request.cost);
  if (refusal !== null) {
    const unit = state.limits?.find((l) => l.name === refusal.name)?.unit ?? "requests";
    return { verdict: { kind: "limited", ...refusal, unit }, spent: null };
  }
  const main = mainName(state);
  const decision = request.noWindow
    ? { admitted: true as const, remaining: state.limit, resetMs: 0 }
    : window.tryAdmit(now, state.limit - (request.reserved ?? 0), state.windowMs);
  if (!decision.admitted) {
    return { verdict: { kind: "limited", limit: state.limit, windowSeconds, retryAfterMs: decision.retryAfterMs, ...main }, spent: null };
  }
  const credits = spend === null ? null : creditState(spend.credits);
  return {
    verdict: { kind: "admitted", limit: state.limit, windowSeconds, remaining: decision.remaining, resetMs: decision.resetMs, credits, ...main },
    spent: spend === null ? null : spend.credits,
  };
}
