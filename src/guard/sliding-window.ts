/**
 * An exact sliding-window log: in ANY interval of `windowMs`, at most `limit`
 * admissions. A request admitted at time t counts while now < t + windowMs.
 * Refused requests are not recorded, so they consume nothing.
 *
 * Pure logic: the caller passes `now`, so tests drive it with a fake clock.
 * Memory is O(limit): only admissions still inside the window are kept.
 */
export type WindowDecision = { admitted: true; remaining: number; resetMs: number } | { admitted: false; retryAfterMs: number };

export class SlidingWindow {
  private stamps: number[];
  private head = 0;
  private last = Number.NEGATIVE_INFINITY;

  constructor(stamps: readonly number[] = []) {
    this.stamps = [...stamps].sort((a, b) => a - b);
    this.last = this.stamps.at(-1) ?? Number.NEGATIVE_INFINITY;
  }

  /** Admissions still inside the window at `now`. */
  count(now: number, windowMs: number): number {
    const stamps = this.stamps;
    let head = this.head;
    while (head < stamps.length && (stamps[head] as number) + windowMs <= now) head++;
    this.head = head;
    if (head > 1024 && head * 2 > stamps.length) {
      this.stamps = stamps.slice(head);
      this.head = 0;
    }
    return this.stamps.length - this.head;
  }

  /** Admits one request if that keeps every window within `limit`, and records it. */
  tryAdmit(rawNow: number, limit: number, windowMs: number): WindowDecision {
    // A clock that steps back must not let an admission hide in the past.
    const now = Math.max(rawNow, this.last);
    const count = this.count(now, windowMs);
    if (count >= limit) return { admitted: false, retryAfterMs: this.retryAfterMs(now, limit, windowMs, count) };
    this.stamps.push(now);
    this.last = now;
    return { admitted: true, remaining: limit - count - 1, resetMs: (this.oldest() as number) + windowMs - now };
  }

  /**
   * Takes back one admission recorded at `stamp` (a shared org limit refused the
   * request after this window admitted it). Nothing else changes: refused
   * requests consume nothing.
   */
  unadmit(stamp: number): void {
    const i = this.stamps.lastIndexOf(stamp);
    if (i >= this.head) this.stamps.splice(i, 1);
  }

  /** The admissions held (oldest first), for a named requests window's rebuild. */
  held(): readonly number[] {
    return this.stamps.slice(this.head);
  }

  /** The time the latest admission was recorded at (the clamped clock). */
  latest(): number {
    return this.last;
  }

  /** What `tryAdmit` would answer, without recording anything. */
  peek(rawNow: number, limit: number, windowMs: number): { remaining: number; resetMs: number } {
    const now = Math.max(rawNow, this.last);
    const count = this.count(now, windowMs);
    const oldest = this.oldest();
    return { remaining: Math.max(0, limit - count), resetMs: oldest === undefined ? 0 : oldest + windowMs - now };
  }

  /** Time until enough of the oldest admissions leave the window for one more to fit. */
  private retryAfterMs(now: number, limit: number, windowMs: number, count: number): number {
    // A limit of 0 admits nothing ever; tell the client to come back in a window.
    if (limit <= 0) return windowMs;
    const leaving = this.stamps[this.head + (count - limit)] as number;
    return leaving + windowMs - now;
  }

  oldest(): number | undefined {
    return this.stamps[this.head];
  }
}
