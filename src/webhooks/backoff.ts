/**
 * When a failed webhook delivery is tried again: exponential backoff from 30 s,
 * doubling to at most 4 h between attempts, over a horizon of 24 h from the
 * first attempt. The last try is made at the horizon itself; after it, the
 * delivery is given up (and can still be redelivered by hand). Pure: `now` is passed.
 */
export const FIRST_RETRY_MS = 30_000;
export const MAX_RETRY_GAP_MS = 4 * 3_600_000;
export const RETRY_HORIZON_MS = 24 * 3_600_000;

/** The time of the next attempt after `attempts` failed ones, or null to give up. */
export function nextAttemptAt(firstAt: number, attempts: number, now: number): number | null {
  const horizon = firstAt + RETRY_HORIZON_MS;
  if (now >= horizon) return null;
  const gap = Math.min(FIRST_RETRY_MS * 2 ** Math.max(0, attempts - 1), MAX_RETRY_GAP_MS);
  return Math.min(now + gap, horizon);
}
