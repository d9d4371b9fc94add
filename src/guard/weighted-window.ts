/**
 * An exact sliding window over amounts: in ANY interval of `windowMs`, the
 * amounts admitted add up to at most `limit`. A `charge` window counts charged
 * units (a hold's reserve at admission, corrected to its real charge when it
 * settles); a named `requests` window counts 1 per admission. Pure: the caller
 * passes `now`. An entry admitted at t counts while now < t + windowMs.
 */
interface Entry {
  at: number;
  amount: number;
}

export type WeightedDecision = { admitted: true; remaining: number; resetMs: number } | { admitted: false; retryAfterMs: number };

export class WeightedWindow {
  private entries: Entry[] = [];
  private head = 0;
  private sum = 0;
  private last = Number.NEGATIVE_INFINITY;
  private sorted = true;
  /** Entries by hold id, for settlement's correction. */
  private byId = new Map<string, Entry>();

  constructor(readonly windowMs: number) {}

  /** Loads an entry from storage (any order; sorted on the first use). */
  restore(at: number, amount: number, id?: string): void {
    const entry = { at, amount };
    this.entries.push(entry);
    this.sum += amount;
    if (id !== undefined) this.byId.set(id, entry);
    this.last = Math.max(this.last, at);
    this.sorted = false;
  }

  /** The amounts inside the window at `now`. */
  total(now: number): number {
    if (!this.sorted) {
      this.entries.sort((a, b) => a.at - b.at);
      this.sorted = true;
    }
    const entries = this.entries;
    let head = this.head;
    while (head < entries.length && (entries[head] as Entry).at + this.windowMs <= now) {
      this.sum -= (entries[head] as Entry).amount;
      head++;
    }
    this.head = head;
    if (head > 1024 && head * 2 > entries.length) {
      this.entries = entries.slice(head);
      this.head = 0;
    }
    if (this.byId.size > 0 && head > 0) for (const [id, e] of this.byId) if (e.at + this.windowMs <= now) this.byId.delete(id);
    return this.sum;
  }

  /** Whether `amount` more fits at `now`, without recording it. */
  check(rawNow: number, amount: number, limit: number): WeightedDecision {
    const now = Math.max(rawNow, this.last);
    const total = this.total(now);
    if (total + amount > limit) return { admitted: false, retryAfterMs: this.retryAfterMs(now, amount, limit, total) };
    const oldest = this.entries[this.head];
    return { admitted: true, remaining: limit - total - amount, resetMs: oldest === undefined ? this.windowMs : oldest.at + this.windowMs - now };
  }

  /** Records `amount` at `now` (after a check that admitted it); `id` names a hold to correct later. */
  add(rawNow: number, amount: number, id?: string): number {
    const now = Math.max(rawNow, this.last);
    const entry = { at: now, amount };
    this.entries.push(entry);
    this.sum += amount;
    this.last = now;
    if (id !== undefined) this.byId.set(id, entry);
    return now;
  }

  /** Sets a hold's entry to its real charge (0 frees it); nothing when it has left the window. */
  correct(id: string, amount: number): void {
    const entry = this.byId.get(id);
    if (entry === undefined) return;
    this.sum += amount - entry.amount;
    entry.amount = amount;
    this.byId.delete(id);
  }

  /** Time until enough of the oldest amounts leave for `amount` more to fit (a whole window when it never fits). */
  private retryAfterMs(now: number, amount: number, limit: number, total: number): number {
    if (amount > limit) return this.windowMs;
    let over = total + amount - limit;
    for (let i = this.head; i < this.entries.length; i++) {
      const e = this.entries[i] as Entry;
      over -= e.amount;
      if (over <= 0) return Math.max(1, e.at + this.windowMs - now);
    }
    return this.windowMs;
  }
}
