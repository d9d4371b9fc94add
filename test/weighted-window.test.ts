import { describe, expect, it } from "vitest";
import { WeightedWindow } from "../src/guard/weighted-window";
import { parseCharge, settlementOf } from "../src/metering/charge-header";
import { closeHold } from "../src/metering/holds";

describe("a charge window (exact over amounts)", () => {
  it("admits reserves of 50 twice in a window of 100, refuses the third until the first leaves, and takes a settlement's correction", () => {
    const w = new WeightedWindow(60_000);
    expect(w.check(0, 50, 100)).toMatchObject({ admitted: true, remaining: 50 });
    w.add(0, 50, "a");
    w.add(1000, 50, "b");
    expect(w.check(2000, 50, 100)).toEqual({ admitted: false, retryAfterMs: 58_000 });
    w.correct("a", 40);
    w.correct("b", 40);
    // 80 of 100 used: a third reserve of 50 still does not fit (the case).
    expect(w.check(2000, 50, 100).admitted).toBe(false);
    expect(w.check(2000, 20, 100).admitted).toBe(true);
    expect(w.total(60_000)).toBe(40);
    expect(w.check(61_000, 50, 100).admitted).toBe(true);
  });

  it("never fits an amount above the limit and says to come back in a window", () => {
    const w = new WeightedWindow(10_000);
    expect(w.check(0, 101, 100)).toEqual({ admitted: false, retryAfterMs: 10_000 });
  });

  it("rebuilds from stored entries, a corrected one included", () => {
    const w = new WeightedWindow(60_000);
    w.restore(5000, 30, "x");
    w.restore(1000, 60);
    expect(w.total(6000)).toBe(90);
    w.correct("x", 0);
    expect(w.check(6000, 40, 100).admitted).toBe(true);
    expect(w.total(61_000)).toBe(0);
  });
});

describe("closing a hold", () => {
  it("refunds the rest of the reserve, charges above it only as far as the balance goes, never below zero", () => {
    expect(closeHold(100, 40, 900)).toEqual({ charged: 40, refund: 60, uncharged: 0 });
    expect(closeHold(100, 150, 30)).toEqual({ charged: 130, refund: -30, uncharged: 20 });
    expect(closeHold(100, 150, 0)).toEqual({ charged: 100, refund: 0, uncharged: 50 });
    expect(closeHold(100, 150, null)).toEqual({ charged: 150, refund: -50, uncharged: 0 });
  });
});

describe("the settlement a metered answer calls for", () => {
  const always = { reserve: 50, holdSeconds: 300, chargeOn: "always" as const };
  const success = { ...always, chargeOn: "success" as const };
  it.each([
    ["a charge header", always, { status: 200, charge: "17" }, { kind: "charge", charge: 17 }],
    ["no header (settled later)", always, { status: 200, charge: null }, { kind: "open" }],
    ["a malformed header: the full reserve", always, { status: 200, charge: "12.5" }, { kind: "charge", charge: 50, malformed: true }],
    ["an origin 500 charged always", always, { status: 500, charge: "3" }, { kind: "charge", charge: 3 }],
    ["an origin 500 with chargeOn success", success, { status: 500, charge: "3" }, { kind: "charge", charge: 0 }],
    ["an origin 404 with chargeOn success", success, { status: 404, charge: null }, { kind: "charge", charge: 0 }],
    ["no origin answer with chargeOn success", success, { failed: true as const }, { kind: "charge", charge: 0 }],
    ["no origin answer charged always: the hold expires", always, { failed: true as const }, { kind: "open" }],
  ])("%s", (_name, metering, outcome, expected) => {
    expect(settlementOf(metering, outcome)).toEqual(expected);
  });

  it.each(["", "-1", "1e3", "0x10", " 7 x", "99999999999999"])("refuses %j as a charge", (v) => expect(parseCharge(v)).toBeNull());
  it("reads a whole number with white space around it", () => expect(parseCharge(" 42 ")).toBe(42));
});
