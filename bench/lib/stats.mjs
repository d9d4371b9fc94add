// @ts-check
// Small statistics and the limiter-accuracy analysis.

export function median(values) {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return Number.NaN;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

export function summary(values) {
  const v = values.filter((x) => Number.isFinite(x));
  return { median: median(v), min: Math.min(...v), max: Math.max(...v), values };
}

/**
 * Admissions of one limiter, from the arrival times (ms) of the admitted
 * requests at the origin.
 * - maxInAnyWindow: the most admissions inside any span of `windowMs - toleranceMs`
 *   (a sliding window: the promise "at most `limit` per window" holds for every
 *   span, not only for spans the limiter picks). The tolerance absorbs the jitter
 *   between the limiter's decision and the origin's clock.
 * - windows: the run cut into consecutive segments of `windowMs` from the first
 *   admission; for each, the most admissions in any such span that starts in it
 *   (so "every window" is judged by the same ruler as maxInAnyWindow).
 * - rawWindows: plain admission counts per segment. These depend on where the
 *   segment edges fall: a sliding limiter re-admits exactly one window after an
 *   admission, and a few ms of forwarding jitter can put such a pair inside one
 *   segment.
 */
export function admissions(times, { limit, windowMs, toleranceMs }) {
  const t = [...times].sort((a, b) => a - b);
  const span = windowMs - toleranceMs;
  let maxInAnyWindow = 0;
  /** @type {number | null} */
  let worstAt = null;
  const windows = [];
  const rawWindows = [];
  for (let i = 0, j = 0; i < t.length; i++) {
    while (j < t.length && t[j] < t[i] + span) j++;
    if (j - i > maxInAnyWindow) {
      maxInAnyWindow = j - i;
      worstAt = t[i] - t[0];
    }
    const k = Math.floor((t[i] - t[0]) / windowMs);
    windows[k] = Math.max(windows[k] ?? 0, j - i);
    rawWindows[k] = (rawWindows[k] ?? 0) + 1;
  }
  for (let k = 0; k < windows.length; k++) {
    windows[k] ??= 0;
    rawWindows[k] ??= 0;
  }
  return {
    admitted: t.length,
    limit,
    windowMs,
    toleranceMs,
    maxInAnyWindow,
    worstWindowStartsAtMs: worstAt === null ? null : Math.round(worstAt),
    overAdmissionPercent: (Math.max(0, maxInAnyWindow - limit) / limit) * 100,
    windows,
    rawWindows,
  };
}

export const fmt = (x, digits = 0) => (Number.isFinite(x) ? x.toFixed(digits) : "n/a");
export const fmtRange = (s, digits = 0) => `${fmt(s.median, digits)} (${fmt(s.min, digits)}–${fmt(s.max, digits)})`;
