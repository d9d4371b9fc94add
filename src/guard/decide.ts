import { isRevokedAt } from "../keys/key-model";
import { type Credits, nextRefillAt, refilled, trySpend } from "./credits";
import type { GuardState } from "./guard-state";
import type { CreditState, GuardVerdict } from "./guard-types";
import type { SlidingWindow } from "./sliding-window";

/** What one request asks of its key's guard. */
export interface DecideRequest {
  /** false: only ask whether the key may be used; nothing is consumed. */
  consume: boolean;
  /** Credits an admitted request spends. */
  cost: number;
}

/** A verdict, and the balance after it when an admission spent credits (the caller keeps it). */
export interface Decision {
  verdict: GuardVerdict;
  spent: Credits | null;
}

/** A balance as a verdict reports it. */
export const creditState = (c: Credits): CreditState => ({ remaining: c.remaining, refillAmount: c.refill?.amount ?? null, nextRefillAt: nextRefillAt(c) });

/**
 * Decides one request at `now`, in the order a request meets the checks:
 * revoked, expired, disabled, then credits and the window together. No storage
 * and no clock: the state is only read, and the in-memory window records the
 * admission it grants (so the caller writes it, and keeps `spent`).
 */
export function decide(state: GuardState, window: SlidingWindow, request: DecideRequest, now: number): Decision {
  if (isRevokedAt(state.revoked, state.revokeAt, now)) return { verdict: { kind: "revoked" }, spent: null };
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
  const decision = window.tryAdmit(now, state.limit, state.windowMs);
  if (!decision.admitted) {
    return { verdict: { kind: "limited", limit: state.limit, windowSeconds, retryAfterMs: decision.retryAfterMs }, spent: null };
  }
  const credits = spend === null ? null : creditState(spend.credits);
  return {
    verdict: { kind: "admitted", limit: state.limit, windowSeconds, remaining: decision.remaining, resetMs: decision.resetMs, credits },
    spent: spend === null ? null : spend.credits,
  };
}
