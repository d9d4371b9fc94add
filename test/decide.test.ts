import { describe, expect, it } from "vitest";
import type { Credits } from "../src/guard/credits";
import { decide } from "../src/guard/decide";
import type { GuardState } from "../src/guard/guard-state";
import { SlidingWindow } from "../src/guard/sliding-window";

const NOW = Date.parse("2027-03-10T12:00:00Z");
const W = 60_000;

function state(overrides: Partial<GuardState> = {}): GuardState {
  return {
    keyId: "key_decide",
    version: 1,
    revoked: false,
    revokedAt: null,
    revokeAt: null,
    limit: 3,
    windowMs: W,
    expiresAt: null,
    disabled: false,
    credits: null,
    orgLimit: null,
    endsWhenIdle: false,
    limits: null,
    orgCredits: null,
    ...overrides,
  };
}

const consume = { consume: true, cost: 1 };
const balance = (remaining: number): Credits => ({ remaining, refill: null, refilledAt: NOW - 1_000 });

describe("decide (pure: state, window and now in, verdict out)", () => {
  it("admits up to the limit in one window, then refuses with the time until the oldest leaves", () => {
    const s = state();
    const w = new SlidingWindow();
    for (let i = 0; i < 3; i++) expect(decide(s, w, consume, NOW + i).verdict).toMatchObject({ kind: "admitted", remaining: 2 - i });
    expect(decide(s, w, consume, NOW + 10).verdict).toEqual({ kind: "limited", limit: 3, windowSeconds: 60, retryAfterMs: W - 10 });
    expect(w.count(NOW + 10, W)).toBe(3);
    expect(decide(s, w, consume, NOW + W).verdict.kind).toBe("admitted");
  });

  it("refuses in the order revoked, expired, disabled, and records nothing in the window", () => {
    const w = new SlidingWindow();
    const all = { revoked: true, revokedAt: NOW - 1, expiresAt: NOW - 1, disabled: true };
    expect(decide(state(all), w, consume, NOW).verdict).toEqual({ kind: "revoked" });
    expect(decide(state({ ...all, revoked: false }), w, consume, NOW).verdict).toEqual({ kind: "expired" });
    expect(decide(state({ ...all, revoked: false, expiresAt: null }), w, consume, NOW).verdict).toEqual({ kind: "disabled" });
    expect(w.count(NOW, W)).toBe(0);
  });

  it("takes a scheduled revocation at its instant and an expiry at its instant, not a millisecond before", () => {
    const w = new SlidingWindow();
    const s = state({ revokeAt: NOW + 100, expiresAt: NOW + 50 });
    expect(decide(s, w, consume, NOW + 49).verdict.kind).toBe("admitted");
    expect(decide(s, w, consume, NOW + 50).verdict.kind).toBe("expired");
    expect(decide(s, w, consume, NOW + 100).verdict.kind).toBe("revoked");
  });

  it("spends credits with the admission and hands the new balance back without changing the state", () => {
    const s = state({ credits: balance(5) });
    const { verdict, spent } = decide(s, new SlidingWindow(), { consume: true, cost: 2 }, NOW);
    expect(verdict).toMatchObject({ kind: "admitted", credits: { remaining: 3, refillAmount: null, nextRefillAt: null } });
    expect(spent?.remaining).toBe(3);
    expect(s.credits?.remaining).toBe(5);
  });

  it("answers exhausted without touching the window, and a window refusal spends nothing", () => {
    const w = new SlidingWindow();
    expect(decide(state({ credits: balance(1) }), w, { consume: true, cost: 2 }, NOW)).toEqual({
      verdict: { kind: "exhausted", cost: 2, remaining: 1, refillAmount: null, nextRefillAt: null },
      spent: null,
    });
    expect(w.count(NOW, W)).toBe(0);
    const full = state({ limit: 0, credits: balance(10) });
    expect(decide(full, w, consume, NOW)).toMatchObject({ verdict: { kind: "limited" }, spent: null });
  });

  it("only peeks when nothing is consumed: usable, with what remains, and the window unchanged", () => {
    const w = new SlidingWindow();
    decide(state(), w, consume, NOW);
    expect(decide(state({ credits: balance(4) }), w, { consume: false, cost: 1 }, NOW + 1)).toEqual({
      verdict: { kind: "usable", limit: 3, windowSeconds: 60, remaining: 2, resetMs: W - 1, credits: { remaining: 4, refillAmount: null, nextRefillAt: null } },
      spent: null,
    });
    expect(w.count(NOW + 1, W)).toBe(1);
  });
});
