/**
 * A metered request's hold (docs/metering.md): taken at admission from a
 * balance and the charge windows, settled once with the real charge (or
 * expired at its reserve), then kept a while so that a repeated settle is
 * answered with the first one.
 */
export interface Hold {
  /** The request id (the context token's jti). */
  id: string;
  /** When it was taken (the guard's clock): where its units sit in a charge window. */
  at: number;
  reserve: number;
  /** Charged in full by the alarm at this time unless settled before. */
  expiresAt: number;
  /** null while open; what was charged once settled or expired. */
  charge: number | null;
  /** How it was closed: by a settlement, or by expiry. */
  closedBy: "settle" | "expiry" | null;
  /** What could not be charged because the balance ran out (charge above reserve). */
  uncharged: number;
}

/** What closing a hold does to a balance that had `available` left after the hold was taken. */
export interface Closing {
  /** Units charged (at most reserve + available when there is a balance). */
  charged: number;
  /** Units returned to the balance: reserve - charged, negative when the charge went above the reserve. */
  refund: number;
  uncharged: number;
}

/**
 * Closes a hold of `reserve` with a charge of `charge`. With a balance
 * (`available` not null) a charge above the reserve takes what is left of the
 * balance and no more: the balance stops at zero. Without one (unlimited) it is
 * charged in full.
 */
export function closeHold(reserve: number, charge: number, available: number | null): Closing {
  const ceiling = available === null ? charge : reserve + Math.max(0, available);
  const charged = Math.min(charge, ceiling);
  return { charged, refund: reserve - charged, uncharged: charge - charged };
}

/** How long a closed hold is kept after its expiry, to answer a repeated settle and rebuild charge windows. */
export const CLOSED_HOLD_KEPT_MS = 60_000;

/** What a settle call answers. */
export type SettleResult =
  | { kind: "settled"; charged: number; uncharged: number; repeated: boolean }
  | { kind: "expired"; charged: number }
  | { kind: "unknown" };

/** A hold as the admin API and the console show it. */
export type HoldView = Hold;
