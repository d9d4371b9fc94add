import type { Credits } from "./credits";
import type { GuardState } from "./guard-state";
import { SlidingWindow } from "./sliding-window";

/**
 * How many admissions may wait in memory before they are written: about 5% of
 * the limit (at least 1). An abrupt crash (not an eviction after a flush) can
 * therefore forget at most pendingCap(limit) - 1 of the latest admissions, so
 * the window over-admits by under 5% of its limit for at most one window, and
 * nothing older than about FLUSH_DELAY_MS. A small limit is written almost at
 * once (limit 60: every 3 admissions); a large one mostly by the timer, so a hot
 * key costs a few writes a second rather than one per batch of 16.
 */
export function pendingCap(limit: number): number {
  return Math.max(1, Math.ceil(limit / 20));
}
/** A pending admission is written at most this long after it happened. */
export const FLUSH_DELAY_MS = 250;

/**
 * How long an admission waits before its batch is written. A sparse key (nothing
 * pending, and its last write at least FLUSH_DELAY_MS ago) would write it alone
 * anyway, one row 250 ms later, and a pending timer keeps a Durable Object from
 * hibernating, billed as duration all that time (docs/performance.md): it is
 * written on the next tick instead, after the verdict has gone (so no reply waits
 * for the write). A busy key waits FLUSH_DELAY_MS, so that one row carries many.
 */
export function flushDelay(pending: number, lastWriteAt: number, now: number): number {
  return pending <= 1 && now - lastWriteAt >= FLUSH_DELAY_MS ? 0 : FLUSH_DELAY_MS;
}

/** Every batch, oldest first, with the usage copy of the newest only (one statement). */
const LOAD_ADMISSIONS = `SELECT slot, newest, stamps, CASE WHEN newest = (SELECT max(newest) FROM admissions) THEN usage END AS usage
  FROM admissions ORDER BY newest`;

/** What a wake reads back from the `admissions` table. */
export interface LoadedAdmissions {
  log: AdmissionLog;
  lastUsedAt: number | null;
  /** The usage copy in the latest flush's row (JSON), if any. */
  latestUsage: string | null;
}

/**
 * The guard's admissions: the sliding window that decides (in memory), and the
 * admissions on their way to storage, written in batches, one row per flush,
 * off most requests' critical path (see pendingCap for what a crash may forget).
 * Credits spent travel with them: the balance is written with its admissions,
 * so a crash forgets both, never one alone.
 */
export class AdmissionLog {
  private constructor(
    /** Every admission still inside the window, stored or pending. */
    readonly window: SlidingWindow,
  ) {}
  private pending: number[] = [];
  /** Rows of the admissions table, oldest batch first. */
  private slots: { slot: number; newest: number }[] = [];
  private timer: ReturnType<typeof setTimeout> | null = null;
  /** When the last batch was written (0: not by this instance). */
  private lastWriteAt = 0;
  /** Credits spent (or refilled) since the state row was last written. */
  private unwrittenSpend = 0;
  /** The balance changed since the state row was last written. */
  creditsDirty = false;

  /**
   * Reads the stored batches. The window length may only be learnt with the
   * first request (the state row is written on admin changes only), so every
   * stored stamp is loaded; the window drops those older than its length on first use.
   */
  static load(sql: SqlStorage): LoadedAdmissions {
    const slots: { slot: number; newest: number }[] = [];
    const stamps: number[] = [];
    let lastUsedAt: number | null = null;
    // Of the rows' usage copies only the latest flush's can be the newest (a flush
    // writes the row of its batch's newest admission, later than any earlier
    // batch's), so only the newest row's is read and parsed, in the same statement.
    // Should the clock step back, an older copy may win: usage is informational, never a decision.
    let latestUsage: string | null = null;
    for (const batch of sql.exec(LOAD_ADMISSIONS)) {
      const newest = Number(batch.newest);
      slots.push({ slot: Number(batch.slot), newest });
      for (const t of JSON.parse(String(batch.stamps)) as number[]) stamps.push(t);
      lastUsedAt = Math.max(lastUsedAt ?? 0, newest);
      if (batch.usage != null) latestUsage = String(batch.usage);
    }
    const log = new AdmissionLog(new SlidingWindow(stamps));
    log.slots = slots;
    return { log, lastUsedAt, latestUsage };
  }

  /** Admissions admitted but not yet written. */
  get pendingCount(): number {
    return this.pending.length;
  }

  /**
   * Holds an admission the window has granted at `stamp` until the next write;
   * `spent` is the balance after it (null: the key has no credits), kept in `state`.
   */
  admit(state: GuardState, stamp: number | null, spent: Credits | null, cost: number): void {
    // null: an org's guard asked for its credits only, which no window counts.
    if (stamp !== null) this.pending.push(stamp);
    if (spent === null) return;
    if (spent.refilledAt !== state.credits?.refilledAt) this.unwrittenSpend = 0; // a refill: count afresh
    state.credits = spent;
    this.unwrittenSpend += cost;
    this.creditsDirty = true;
  }

  /** Takes back an admission at `stamp` (the org's limit refused it): out of the window and the batch, its credits refunded. */
  unadmit(state: GuardState | null, stamp: number | null, cost: number): void {
    if (stamp !== null) {
      this.window.unadmit(stamp);
      const i = this.pending.lastIndexOf(stamp);
      if (i >= 0) this.pending.splice(i, 1);
    }
    this.refund(state, cost);
  }

  /** Gives back credits an admission spent (its request was refused after all). */
  private refund(state: GuardState | null, cost: number): void {
    if (state?.credits) {
      state.credits = { ...state.credits, remaining: state.credits.remaining + cost };
      this.unwrittenSpend = Math.max(0, this.unwrittenSpend - cost);
    }
  }

  /** Written once about 5% of the limit, or credits worth about 5% of the balance as last written, are waiting. */
  private due(limit: number, credits: Credits | null): boolean {
    if (this.pending.length >= pendingCap(limit)) return true;
    return credits !== null && this.unwrittenSpend > 0 && this.unwrittenSpend >= pendingCap(credits.remaining + this.unwrittenSpend);
  }

  /**
   * After an admission: runs `flush` now once about 5% of the limit or of the
   * balance is waiting (see pendingCap), otherwise within FLUSH_DELAY_MS.
   */
  flushSoon(limit: number, credits: Credits | null, flush: () => void): void {
    if (this.due(limit, credits)) flush();
    else if (this.timer === null) this.timer = setTimeout(flush, flushDelay(this.pending.length, this.lastWriteAt, Date.now()));
  }

  /** Cancels the scheduled flush (a flush is running now). */
  unschedule(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  /** The state row was written: the balance in it is durable. */
  stateWritten(): void {
    this.creditsDirty = false;
    this.unwrittenSpend = 0;
  }

  /**
   * Writes the pending batch as one row, with the usage copy `usage` gives, and
   * answers the rows written (0: nothing was pending). The oldest row is reused
   * once its batch has left the window, so rows in use never exceed the batches
   * inside one window, plus one.
   */
  write(sql: SqlStorage, windowMs: number, usage: () => string | null): number {
    if (this.pending.length === 0) return 0;
    const batch = this.pending;
    this.pending = [];
    this.lastWriteAt = Date.now();
    const newest = batch[batch.length - 1] as number;
    const oldest = this.slots[0];
    const slot = oldest && oldest.newest + windowMs <= Date.now() ? (this.slots.shift() as { slot: number }).slot : this.slots.length;
    this.slots.push({ slot, newest });
    return sql.exec(
      `INSERT INTO admissions (slot, newest, stamps, usage) VALUES (?, ?, ?, ?)
       ON CONFLICT(slot) DO UPDATE SET newest = excluded.newest, stamps = excluded.stamps, usage = excluded.usage`,
      slot,
      newest,
      JSON.stringify(batch),
      usage(),
    ).rowsWritten;
  }
}
