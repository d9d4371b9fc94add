import type { Metering } from "../authz/policy";

/** The response header in which the origin reports what a metered request cost. Never passed to the client. */
export const CHARGE_HEADER = "keyward-charge";

/** The most one settlement may charge (2^53 - 1 would lose whole numbers in JSON elsewhere). */
export const MAX_CHARGE = 1_000_000_000_000;

/**
 * What the gateway tells the guard once the origin has answered (or failed):
 * charge an amount now, or leave the hold open for a later settle or its expiry.
 * `malformed`: the header was there but not a whole number; charged the reserve.
 */
export type Settlement = { kind: "charge"; charge: number; malformed?: true } | { kind: "open" };

/** A whole number from 0 to MAX_CHARGE, or null. */
export function parseCharge(value: string): number | null {
  const text = value.trim();
  if (!/^\d{1,13}$/.test(text)) return null;
  const n = Number(text);
  return n <= MAX_CHARGE ? n : null;
}

/**
 * The settlement a metered request's outcome calls for (docs/metering.md):
 * - `chargeOn: "success"`: an origin answer of 400 or more, or no answer at all,
 *   charges nothing.
 * - otherwise the `Keyward-Charge` header decides; a malformed one is charged
 *   the full reserve (the origin said the work cost something, not what).
 * - no header: the hold stays open, for `POST /_keyward/v1/settle` or its expiry.
 */
export function settlementOf(metering: Metering, outcome: { status: number; charge: string | null } | { failed: true }): Settlement {
  if ("failed" in outcome) return metering.chargeOn === "success" ? { kind: "charge", charge: 0 } : { kind: "open" };
  if (metering.chargeOn === "success" && outcome.status >= 400) return { kind: "charge", charge: 0 };
  if (outcome.charge === null) return { kind: "open" };
  const charge = parseCharge(outcome.charge);
  return charge === null ? { kind: "charge", charge: metering.reserve, malformed: true } : { kind: "charge", charge };
}
