import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SlidingWindow } from "../src/guard/sliding-window";
import { retryAfterSeconds } from "../src/http/rate-limit-headers";

const W = 60_000;

describe("sliding window (pure, fake clock)", () => {
  it("admits the limit, refuses the next, and admits again once the oldest leaves (59.9 s vs 60 s)", () => {
    const w = new SlidingWindow();
    for (let i = 0; i < 60; i++) expect(w.tryAdmit(0, 60, W).admitted).toBe(true);
    expect(w.tryAdmit(0, 60, W).admitted).toBe(false);
    expect(w.tryAdmit(59_900, 60, W)).toEqual({ admitted: false, retryAfterMs: 100 });
    // All 60 were admitted at t=0, so all leave together.
    expect(w.tryAdmit(60_000, 60, W)).toMatchObject({ admitted: true, remaining: 59 });
  });

  it("frees exactly one slot when only the oldest admission leaves", () => {
    const w = new SlidingWindow();
    for (let i = 0; i < 60; i++) w.tryAdmit(i * 100, 60, W);
    expect(w.tryAdmit(59_999, 60, W)).toEqual({ admitted: false, retryAfterMs: 1 });
    expect(w.tryAdmit(60_000, 60, W)).toMatchObject({ admitted: true, remaining: 0, resetMs: 100 });
    expect(w.tryAdmit(60_050, 60, W).admitted).toBe(false);
  });

  it("computes Retry-After from the oldest admission, rounded up, never below 1", () => {
    const w = new SlidingWindow();
    w.tryAdmit(1_000, 2, W);
    w.tryAdmit(30_000, 2, W);
    const refused = w.tryAdmit(40_000, 2, W);
    expect(refused).toEqual({ admitted: false, retryAfterMs: 21_000 });
    expect(retryAfterSeconds(21_000)).toBe(21);
    expect(retryAfterSeconds(1)).toBe(1);
    expect(retryAfterSeconds(0)).toBe(1);
    expect(retryAfterSeconds(-5)).toBe(1);
    expect(retryAfterSeconds(1_001)).toBe(2);
  });

  it("refuses everything at a limit of 0, and the refusals consume nothing", () => {
    const w = new SlidingWindow();
    for (let i = 0; i < 10; i++) expect(w.tryAdmit(i, 0, W)).toEqual({ admitted: false, retryAfterMs: W });
    expect(w.count(10, W)).toBe(0);
    expect(w.tryAdmit(11, 1, W).admitted).toBe(true);
  });

  it("keeps the window when the limit is lowered or raised", () => {
    const w = new SlidingWindow();
    for (let i = 0; i < 10; i++) w.tryAdmit(i * 100, 10, W);
    expect(w.tryAdmit(2_000, 5, W)).toEqual({ admitted: false, retryAfterMs: 500 + W - 2_000 });
    expect(w.tryAdmit(2_000, 11, W)).toMatchObject({ admitted: true, remaining: 0 });
  });

  it("does not let a clock that steps back hide admissions in the past", () => {
    const w = new SlidingWindow();
    w.tryAdmit(100_000, 1, W);
    expect(w.tryAdmit(30_000, 1, W).admitted).toBe(false);
    expect(w.tryAdmit(159_999, 1, W).admitted).toBe(false);
    expect(w.tryAdmit(160_000, 1, W).admitted).toBe(true);
  });

  it("never admits more than the limit in any window, and never refuses what it could admit (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 12 }),
        fc.integer({ min: 1, max: 5_000 }),
        fc.array(fc.integer({ min: 0, max: 2_000 }), { minLength: 1, maxLength: 300 }),
        (limit, windowMs, gaps) => {
          const w = new SlidingWindow();
          const admitted: number[] = [];
          let now = 0;
          for (const gap of gaps) {
            now += gap;
            const inWindow = admitted.filter((t) => t > now - windowMs).length;
            const decision = w.tryAdmit(now, limit, windowMs);
            if (decision.admitted) {
              admitted.push(now);
              // Admitting kept this window (and so every window ending now) within the limit.
              if (inWindow + 1 > limit) return false;
            } else {
              // A refusal only where admitting would have put this window over the limit.
              if (inWindow < limit) return false;
              if (decision.retryAfterMs <= 0 && limit > 0) return false;
            }
          }
          // Independent check over every window that starts at an admission.
          for (const start of admitted) {
            if (admitted.filter((t) => t >= start && t < start + windowMs).length > limit) return false;
          }
          return true;
        },
      ),
      { numRuns: 3_000 },
    );
  });
});
