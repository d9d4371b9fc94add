import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { adjusted, type Credits, nextRefillAt, type Refill, refillAfter, refillAtOrBefore, refilled, trySpend } from "../src/guard/credits";

const at = (iso: string) => Date.parse(iso);
const daily: Refill = { interval: "daily", amount: 100, refillDay: null };
const monthly = (refillDay: number, amount = 50_000): Refill => ({ interval: "monthly", amount, refillDay });

describe("refill instants (UTC)", () => {
  it("refills daily at the next 00:00 UTC, and not a millisecond before", () => {
    const credits: Credits = { remaining: 3, refill: daily, refilledAt: at("2027-03-10T17:45:00Z") };
    expect(nextRefillAt(credits)).toBe(at("2027-03-11T00:00:00Z"));
    expect(refilled(credits, at("2027-03-10T23:59:59.999Z")).remaining).toBe(3);
    const after = refilled(credits, at("2027-03-11T00:00:00Z"));
    expect(after).toEqual({ remaining: 100, refill: daily, refilledAt: at("2027-03-11T00:00:00Z") });
    expect(nextRefillAt(after)).toBe(at("2027-03-12T00:00:00Z"));
  });

  it("refills on day 31 at the end of a 30-day month, then on the 31st again", () => {
    const credits: Credits = { remaining: 0, refill: monthly(31), refilledAt: at("2027-03-31T00:00:00Z") };
    expect(nextRefillAt(credits)).toBe(at("2027-04-30T00:00:00Z"));
    expect(refilled(credits, at("2027-04-29T23:59:59.999Z")).remaining).toBe(0);
    const april = refilled(credits, at("2027-04-30T00:00:00Z"));
    expect(april.remaining).toBe(50_000);
    expect(nextRefillAt(april)).toBe(at("2027-05-31T00:00:00Z"));
  });

  it("refills on day 31 (and 29, 30) on February's last day, in common and leap years", () => {
    for (const day of [29, 30, 31]) {
      expect(refillAfter(monthly(day), at("2027-01-31T12:00:00Z"))).toBe(at("2027-02-28T00:00:00Z"));
      expect(refillAfter(monthly(day), at("2028-01-31T12:00:00Z"))).toBe(at("2028-02-29T00:00:00Z"));
    }
    expect(refillAfter(monthly(31), at("2027-02-28T00:00:00Z"))).toBe(at("2027-03-31T00:00:00Z"));
  });

  it("refills monthly on day 1 across a year end", () => {
    expect(refillAfter(monthly(1), at("2027-12-15T00:00:00Z"))).toBe(at("2028-01-01T00:00:00Z"));
    expect(refillAtOrBefore(monthly(1), at("2028-01-01T00:00:00Z"))).toBe(at("2028-01-01T00:00:00Z"));
  });

  it("applies one refill (not one per missed instant) after a long idle time", () => {
    const credits: Credits = { remaining: 7, refill: daily, refilledAt: at("2027-01-01T00:00:00Z") };
    const later = refilled(credits, at("2027-06-15T08:00:00Z"));
    expect(later).toEqual({ remaining: 100, refill: daily, refilledAt: at("2027-06-15T00:00:00Z") });
  });

  const refillArb = fc.oneof(
    fc.constant(daily),
    fc.integer({ min: 1, max: 31 }).map((d) => monthly(d)),
  );
  const timeArb = fc.integer({ min: at("2000-01-01T00:00:00Z"), max: at("2100-01-01T00:00:00Z") });

  it("the next instant is strictly later, a midnight UTC, on the refill day or the month's last day, with none in between", () => {
    fc.assert(
      fc.property(refillArb, timeArb, (refill, t) => {
        const next = refillAfter(refill, t);
        expect(next).toBeGreaterThan(t);
        expect(next % 86_400_000).toBe(0);
        // Nothing in between: the latest instant before `next` is at or before t.
        expect(refillAtOrBefore(refill, next - 1)).toBeLessThanOrEqual(t);
        expect(refillAtOrBefore(refill, next)).toBe(next);
        if (refill.interval === "monthly") {
          const d = new Date(next);
          const last = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate();
          expect(d.getUTCDate()).toBe(Math.min(refill.refillDay ?? 1, last));
        } else {
          expect(next - t).toBeLessThanOrEqual(86_400_000);
        }
      }),
    );
  });
});

describe("spending", () => {
  it("admits a cost-10 route twice from 25 credits, leaving 5, and never spends on a refusal", () => {
    let credits: Credits = { remaining: 25, refill: null, refilledAt: 0 };
    const results = [];
    for (let i = 0; i < 4; i++) {
      const d = trySpend(credits, 10, 1);
      results.push(d.ok);
      credits = d.credits;
    }
    expect(results).toEqual([true, true, false, false]);
    expect(credits.remaining).toBe(5);
    expect(trySpend(credits, 0, 1)).toMatchObject({ ok: true, credits: { remaining: 5 } });
  });

  it("answers when the next refill is on a refusal", () => {
    const d = trySpend({ remaining: 0, refill: daily, refilledAt: at("2027-03-10T05:00:00Z") }, 1, at("2027-03-10T06:00:00Z"));
    expect(d).toMatchObject({ ok: false, nextRefillAt: at("2027-03-11T00:00:00Z") });
    expect(trySpend({ remaining: 0, refill: null, refilledAt: 0 }, 1, 5)).toMatchObject({ ok: false, nextRefillAt: null });
  });

  it("never admits more than the balance covers, whatever the costs", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 500 }), fc.array(fc.integer({ min: 0, max: 20 }), { maxLength: 200 }), (balance, costs) => {
        let credits: Credits = { remaining: balance, refill: null, refilledAt: 0 };
        let spent = 0;
        for (const cost of costs) {
          const d = trySpend(credits, cost, 1);
          if (d.ok) spent += cost;
          else expect(d.credits.remaining).toBe(credits.remaining);
          credits = d.credits;
          expect(credits.remaining).toBeGreaterThanOrEqual(0);
        }
        expect(spent + credits.remaining).toBe(balance);
      }),
    );
  });
});

describe("admin changes", () => {
  const c: Credits = { remaining: 10, refill: monthly(1), refilledAt: at("2027-03-01T00:00:00Z") };
  const now = at("2027-03-05T00:00:00Z");

  it("sets, increments and decrements (stopping at zero), keeping the refill", () => {
    expect(adjusted(c, { operation: "set", value: 3 }, now)).toMatchObject({ remaining: 3, refill: monthly(1) });
    expect(adjusted(c, { operation: "increment", value: 2 }, now)?.remaining).toBe(12);
    expect(adjusted(c, { operation: "decrement", value: 4 }, now)?.remaining).toBe(6);
    expect(adjusted(c, { operation: "decrement", value: 40 }, now)?.remaining).toBe(0);
  });

  it("makes a key unlimited with set and no value, which clears the refill", () => {
    expect(adjusted(c, { operation: "set" }, now)).toBeNull();
  });

  it("applies a refill that fell due before the change", () => {
    expect(adjusted(c, { operation: "increment", value: 1 }, at("2027-04-01T00:00:00Z"))?.remaining).toBe(50_001);
  });
});
