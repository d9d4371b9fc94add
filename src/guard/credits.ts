/**
 * A key's credits: a balance that admitted requests spend (each by its route's
 * cost), optionally refilled on a UTC calendar. Pure functions over a plain
 * state and an explicit `now`, so that refill instants are tested with a fake
 * clock; the key guard holds the state and calls these in its single-threaded
 * check, which is what makes spending exact under any concurrency.
 *
 * Refill instants are UTC midnights: daily, every day at 00:00 UTC; monthly, at
 * 00:00 UTC on `refillDay` (1-31), or on the month's last day when the month is
 * shorter (day 31 refills on 30 April and on 28 or 29 February). A refill sets
 * the balance to `amount`: unused credits do not roll over.
 */
export interface Refill {
  interval: "daily" | "monthly";
  amount: number;
  /** Monthly only: the day of the month (1-31); null for daily. */
  refillDay: number | null;
}

export interface Credits {
  remaining: number;
  refill: Refill | null;
  /** The last refill instant applied (or when the credits were given), epoch ms. */
  refilledAt: number;
  /** A credits.low event when the balance falls below this (absent or null: none). */
  alertBelow?: number | null;
  /** Raised since the balance last stood at or above alertBelow (so once per crossing). */
  lowRaised?: boolean;
  /** Raised since the balance last stood above zero. */
  exhaustedRaised?: boolean;
}

/** The low-balance events (docs/metering.md): raised by the guard that holds the balance, through the org's webhook. */
export type CreditAlert = "credits.low" | "credits.exhausted";

/**
 * The events a balance calls for now, and the balance with their marks: each
 * is raised once per crossing, and again only after the balance was lifted
 * back (a top-up, a refill). Pure.
 */
export function creditAlerts(credits: Credits): { credits: Credits; alerts: CreditAlert[] } {
  const alerts: CreditAlert[] = [];
  let next = credits;
  const below = credits.alertBelow ?? null;
  // Opt-in: a balance without alertBelow raises nothing (alertBelow 0: credits.exhausted only).
  if (below === null) return { credits, alerts };
  if (below !== null && credits.remaining < below && !credits.lowRaised) {
    alerts.push("credits.low");
    next = { ...next, lowRaised: true };
  } else if (credits.lowRaised && credits.remaining >= below) next = { ...next, lowRaised: false };
  if (credits.remaining === 0 && !credits.exhaustedRaised) {
    alerts.push("credits.exhausted");
    next = { ...next, exhaustedRaised: true };
  } else if (credits.exhaustedRaised && credits.remaining > 0) next = { ...next, exhaustedRaised: false };
  return { credits: next, alerts };
}

const DAY_MS = 86_400_000;

/**
 * The most credits a key may hold, and the most one operation may give. A cap on
 * the balance, not only per operation: repeated increments could otherwise push
 * it past what a JSON number counts exactly (threats.md 85).
 */
export const MAX_CREDITS = 1_000_000_000_000;

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
}

/** 00:00 UTC of the refill day in the given month (clamped to the month's last day). */
function monthlyInstant(year: number, month: number, day: number): number {
  // Date.UTC normalises month overflow (12 -> January of the next year).
  const first = new Date(Date.UTC(year, month, 1));
  const y = first.getUTCFullYear();
  const m = first.getUTCMonth();
  return Date.UTC(y, m, Math.min(day, daysInMonth(y, m)));
}

/** The latest refill instant at or before `t`. */
export function refillAtOrBefore(refill: Refill, t: number): number {
  const d = new Date(t);
  if (refill.interval === "daily") return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
  const day = refill.refillDay ?? 1;
  const here = monthlyInstant(d.getUTCFullYear(), d.getUTCMonth(), day);
  return here <= t ? here : monthlyInstant(d.getUTCFullYear(), d.getUTCMonth() - 1, day);
}

/** The first refill instant strictly after `t`. */
export function refillAfter(refill: Refill, t: number): number {
  const d = new Date(t);
  if (refill.interval === "daily") return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()) + DAY_MS;
  const day = refill.refillDay ?? 1;
  const here = monthlyInstant(d.getUTCFullYear(), d.getUTCMonth(), day);
  return here > t ? here : monthlyInstant(d.getUTCFullYear(), d.getUTCMonth() + 1, day);
}

/** When the balance is next refilled, or null when it never is. */
export function nextRefillAt(credits: Credits): number | null {
  return credits.refill === null ? null : refillAfter(credits.refill, credits.refilledAt);
}

/** The credits as they stand at `now`: refilled if a refill instant has passed since the last one. */
export function refilled(credits: Credits, now: number): Credits {
  const next = nextRefillAt(credits);
  if (credits.refill === null || next === null || now < next) return credits;
  return { ...credits, remaining: credits.refill.amount, refilledAt: refillAtOrBefore(credits.refill, now) };
}

export type SpendDecision = { ok: true; credits: Credits } | { ok: false; credits: Credits; nextRefillAt: number | null };

/**
 * Spends `cost` credits if the balance (after any due refill) covers it. A cost
 * of 0 (a free route) is always covered, even at zero. Nothing is spent on a refusal.
 */
export function trySpend(credits: Credits, cost: number, now: number): SpendDecision {
  const current = refilled(credits, now);
  if (current.remaining < cost) return { ok: false, credits: current, nextRefillAt: nextRefillAt(current) };
  return { ok: true, credits: cost === 0 ? current : { ...current, remaining: current.remaining - cost } };
}

export type CreditOperation = ({ operation: "set"; value?: number } | { operation: "increment" | "decrement"; value: number }) & {
  /** Sets (null: clears) the low-balance mark; absent: kept. */
  alertBelow?: number | null;
};

/**
 * An admin's change to the balance, applied after any due refill. `set` without
 * a value makes the key unlimited (null) and so clears its refill; decrement
 * stops at zero. Increment or decrement of an unlimited key is refused by the
 * caller before it gets here (there is no balance to change).
 */
export function adjusted(credits: Credits | null, op: CreditOperation, now: number): Credits | null {
  if (op.operation === "set" && op.value === undefined) return null;
  const base: Credits = credits === null ? { remaining: 0, refill: null, refilledAt: now } : refilled(credits, now);
  const current = op.alertBelow === undefined ? base : { ...base, alertBelow: op.alertBelow };
  const value = op.value ?? 0;
  switch (op.operation) {
    case "set":
      return { ...current, remaining: value };
    case "increment":
      return { ...current, remaining: current.remaining + value };
    case "decrement":
      return { ...current, remaining: Math.max(0, current.remaining - value) };
  }
}
