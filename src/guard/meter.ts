import { type Closing, closeHold, type Hold, type SettleResult } from "../metering/holds";
import { HoldBook } from "./hold-book";
import type { NamedLimit, WindowRefusal, WindowState } from "./named-limits";
import { WeightedWindow } from "./weighted-window";

interface Extra {
  limit: NamedLimit;
  window: WeightedWindow;
}

/**
 * A guard's metering: its holds (hold-book.ts) and its windows other than the
 * main one (weighted-window.ts), each exact. Requests windows are rebuilt on a
 * wake from the admission log's stamps; charge windows from the holds table,
 * where every admission on a key with a charge window leaves a row (a metered
 * one its hold, an unmetered one a closed hold of its cost), kept as long as the
 * longest charge window.
 */
export class Meter {
  readonly book: HoldBook;
  private extras: Extra[] = [];

  /** `holdsStored` false: the wake found the holds table empty (guard-schema.ts wakeRead), so it is not read again. */
  constructor(
    private readonly sql: SqlStorage,
    limits: readonly NamedLimit[],
    stamps: readonly number[],
    holdsStored = true,
  ) {
    this.book = holdsStored ? HoldBook.load(sql) : new HoldBook();
    this.configure(limits, stamps);
  }

  /** The extra windows as set (the main window excluded); rebuilt from what storage and memory hold. */
  configure(limits: readonly NamedLimit[], stamps: readonly number[]): void {
    const old = new Map(this.extras.map((e) => [`${e.limit.unit}:${e.limit.windowSeconds}`, e.window]));
    this.extras = limits.map((limit) => {
      const windowMs = limit.windowSeconds * 1000;
      // A window of the same unit and length keeps its entries (a limit change never resets it).
      const kept = old.get(`${limit.unit}:${limit.windowSeconds}`);
      if (kept) return { limit, window: kept };
      const window = new WeightedWindow(windowMs);
      if (limit.unit === "requests") for (const t of stamps) window.restore(t, 1);
      else for (const h of this.book.all()) window.restore(h.at, h.charge ?? h.reserve, h.charge === null ? h.id : undefined);
      return { limit, window };
    });
  }

  /** Whether the key has a window counted in charged units (then every admission leaves a row). */
  get charging(): boolean {
    return this.extras.some((e) => e.limit.unit === "charge");
  }

  /** How long closed holds must be kept: the longest charge window. */
  get keepMs(): number {
    return Math.max(0, ...this.extras.filter((e) => e.limit.unit === "charge").map((e) => e.limit.windowSeconds * 1000));
  }

  /** The longest requests window, so the admission log keeps stamps as long (0: none). */
  get requestsMs(): number {
    return Math.max(0, ...this.extras.filter((e) => e.limit.unit === "requests").map((e) => e.limit.windowSeconds * 1000));
  }

  /** The first extra window that `units` more charged units (and one more request) would overfill, or null. */
  refusal(now: number, units: number): WindowRefusal | null {
    for (const { limit, window } of this.extras) {
      const d = window.check(now, limit.unit === "requests" ? 1 : units, limit.limit);
      if (!d.admitted) return { name: limit.name, limit: limit.limit, windowSeconds: limit.windowSeconds, retryAfterMs: d.retryAfterMs };
    }
    return null;
  }

  /**
   * Records an admission in every extra window, and its hold (a metered request)
   * or its charge (an unmetered one on a key with a charge window), in memory:
   * the hold is written with the balance (hold-book.ts writePending). Answers the
   * rows written (none).
   */
  admit(now: number, id: string, units: number, holdMs: number | null): number {
    for (const { limit, window } of this.extras)
      window.add(now, limit.unit === "requests" ? 1 : units, limit.unit === "charge" && holdMs !== null ? id : undefined);
    if (holdMs !== null) {
      this.book.take({ id, at: now, reserve: units, expiresAt: now + holdMs, charge: null, closedBy: null, uncharged: 0 });
      return 0;
    }
    if (!this.charging) return 0;
    const row: Hold = { id, at: now, reserve: units, expiresAt: now, charge: null, closedBy: null, uncharged: 0 };
    this.book.take(row);
    this.book.close(row, units, 0, "settle");
    return 0;
  }

  /** Takes back an admission the org refused; only the hold row (windows drop its entry by correcting it to 0). */
  unadmit(id: string): number {
    for (const { window } of this.extras) window.correct(id, 0);
    return this.book.drop(this.sql, id);
  }

  /**
   * Closes an open hold with its charge (a settlement) or its reserve (expiry),
   * against a balance with `available` left (null: unlimited). Corrects the
   * charge windows; answers what it did. `fromHeader`: settled from the
   * response's Keyward-Charge, so the closed hold needs no row unless a charge
   * window rebuilds from it (hold-book.ts).
   */
  close(hold: Hold, charge: number, available: number | null, by: "settle" | "expiry", fromHeader = false): Closing {
    const closing = closeHold(hold.reserve, charge, available);
    for (const { limit, window } of this.extras) if (limit.unit === "charge") window.correct(hold.id, charge);
    this.book.close(hold, closing.charged, closing.uncharged, by, fromHeader && !this.charging);
    return closing;
  }

  /** The answer to a settle of a hold already closed (exactly once: a repeat changes nothing). */
  static closedAnswer(hold: Hold): SettleResult {
    return hold.closedBy === "expiry"
      ? { kind: "expired", charged: hold.charge ?? hold.reserve }
      : { kind: "settled", charged: hold.charge ?? 0, uncharged: hold.uncharged, repeated: true };
  }

  /** Each extra window as it stands after an admission, for the RateLimit headers. */
  states(now: number): WindowState[] {
    return this.extras.map(({ limit, window }) => {
      const d = window.check(now, 0, limit.limit);
      return {
        name: limit.name,
        limit: limit.limit,
        windowSeconds: limit.windowSeconds,
        remaining: d.admitted ? d.remaining : 0,
        resetMs: d.admitted ? d.resetMs : d.retryAfterMs,
      };
    });
  }
}
