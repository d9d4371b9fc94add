import { describe, expect, it } from "vitest";
import { holdsInFlightText, settlementText } from "../src/console/browser/holds-text";

/** The console's words for a metered key's holds (the plan section of a key). */
describe("holds in the console", () => {
  const hold = { requestId: "r", at: "2027-01-01T00:00:00Z", reserve: 4096, expiresAt: "2027-01-01T00:05:00Z", uncharged: 0 };
  it("counts the holds in flight and what they reserve", () => {
    expect(holdsInFlightText({ open: [], recent: [] })).toBe("none in flight");
    const open = { ...hold, charge: null, closedBy: null };
    expect(holdsInFlightText({ open: [open, open], recent: [] })).toBe("2 holds in flight (8,192 reserved)");
  });
  it("says what a settlement or an expiry charged, and what the balance could not cover", () => {
    expect(settlementText({ ...hold, charge: 812, closedBy: "settle" })).toBe("charged 812 of 4,096 (settled)");
    expect(settlementText({ ...hold, charge: 4096, closedBy: "expiry" })).toBe("charged 4,096 (expired unsettled)");
    expect(settlementText({ ...hold, charge: 100, closedBy: "settle", uncharged: 50 })).toBe("charged 100 of 4,096 (settled), 50 over the balance not charged");
  });
});
