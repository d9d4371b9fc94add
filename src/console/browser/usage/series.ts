import type { UsageBucket } from "../../../admin/api-types";

/** One slot of a dense series: counts in [start, start + span). */
export interface Slot {
  start: number;
  admitted: number;
  refused: number;
  /** Refusals by error code, for the slot's tooltip. */
  codes: Record<string, number>;
}

export const MINUTE_MS = 60_000;
export const HOUR_MS = 60 * MINUTE_MS;
export const DAY_MS = 24 * HOUR_MS;

/**
 * The org usage chart's ranges: 24 hours from the ledger's hour buckets, 7 and 30
 * days from its day buckets (UTC days, the current one so far). One ledger call each.
 */
export const USAGE_RANGES = {
  "24h": { granularity: "hour", span: HOUR_MS, count: 24, title: "the last 24 hours", per: "hour" },
  "7d": { granularity: "day", span: DAY_MS, count: 7, title: "the last 7 days", per: "day (UTC)" },
  "30d": { granularity: "day", span: DAY_MS, count: 30, title: "the last 30 days", per: "day (UTC)" },
} as const;
export type UsageRange = keyof typeof USAGE_RANGES;

/** Where the range's first slot starts: `count` slots of `span` ending with the one holding `now` (as denseSeries lays them). */
export const rangeStart = (span: number, count: number, now: number) => Math.floor(now / span) * span - (count - 1) * span;

/**
 * `count` slots of `span` ms ending with the one holding `now`, filled from sparse
 * buckets (the API leaves empty buckets out). Several sources may cover the same
 * slot (the ledger's hour rows and the guard's fresher minute rows): each is a count
 * that only grows, so the slot keeps the larger figure per code, never their sum.
 */
export function denseSeries(sources: readonly (readonly UsageBucket[])[], span: number, count: number, now: number): Slot[] {
  const first = rangeStart(span, count, now);
  const slots: Slot[] = Array.from({ length: count }, (_, i) => ({ start: first + i * span, admitted: 0, refused: 0, codes: {} }));
  for (const buckets of sources) {
    // Buckets finer than the span are summed per source first, then merged by maximum.
    const perSlot = new Map<number, { admitted: number; codes: Record<string, number> }>();
    for (const b of buckets) {
      const index = Math.floor((Date.parse(b.start) - first) / span);
      if (index < 0 || index >= count) continue;
      const sum = perSlot.get(index) ?? { admitted: 0, codes: {} };
      sum.admitted += b.admitted;
      for (const [code, n] of Object.entries(b.refused)) sum.codes[code] = (sum.codes[code] ?? 0) + n;
      perSlot.set(index, sum);
    }
    for (const [index, sum] of perSlot) {
      const slot = slots[index] as Slot;
      slot.admitted = Math.max(slot.admitted, sum.admitted);
      for (const [code, n] of Object.entries(sum.codes)) slot.codes[code] = Math.max(slot.codes[code] ?? 0, n);
    }
  }
  for (const slot of slots) slot.refused = Object.values(slot.codes).reduce((n, v) => n + v, 0);
  return slots;
}

/** Totals of a series: admitted, refused, and refusals by code. */
export function totals(slots: readonly Slot[]): { admitted: number; refused: number; codes: Record<string, number> } {
  const codes: Record<string, number> = {};
  let admitted = 0;
  for (const s of slots) {
    admitted += s.admitted;
    for (const [code, n] of Object.entries(s.codes)) codes[code] = (codes[code] ?? 0) + n;
  }
  return { admitted, refused: Object.values(codes).reduce((n, v) => n + v, 0), codes };
}

/** "3 RATE_LIMITED, 1 KEY_EXPIRED" (largest first), or "none". */
export const codesText = (codes: Record<string, number>): string =>
  Object.entries(codes)
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([code, n]) => `${n} ${code}`)
    .join(", ") || "none";
