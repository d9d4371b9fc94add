import { CLOSED_HOLD_KEPT_MS, type Hold, type HoldView } from "../metering/holds";

/** Closed holds without a row kept in memory, the latest (HoldBook.trimRowless). */
export const ROWLESS_KEPT = 1000;

/** Open holds a batch leaves for the next, and their reserves (HoldBook.young). */
export interface Young {
  ids: Set<string>;
  units: number;
}

/** The holds table (docs/storage.md): one row per metered request, from admission until CLOSED_HOLD_KEPT_MS after it closed or expired. */
export function createHoldsTable(sql: SqlStorage): void {
  sql.exec(`CREATE TABLE IF NOT EXISTS holds (
    id TEXT PRIMARY KEY, at INTEGER NOT NULL, reserve INTEGER NOT NULL, expires_at INTEGER NOT NULL,
    charge INTEGER, closed_by TEXT, uncharged INTEGER NOT NULL DEFAULT 0)`);
}

/**
 * A guard's holds: open ones in memory (the guard decides on them) and in the
 * holds table (so a restart loses none); closed ones kept a while, so that a
 * repeated settle is answered with the first and a charge window can be rebuilt.
 * Every change is written with the balance it moved, in the admissions' batch
 * (the guard's writeState writes every pending hold beside the balance), so the
 * two never disagree: an abrupt crash forgets both, never one.
 *
 * A hold closed by its response's `Keyward-Charge` header needs no row once
 * closed (docs/metering.md, Durability): nobody can settle it again but the
 * origin with the request's token, and a repeat changes nothing whatever it is
 * answered. So such a hold, unless a charge window rebuilds from it, is kept in
 * memory only: never written when it closed before its batch was written, its
 * open row deleted otherwise (in the batch that writes the refund).
 */
export class HoldBook {
  private holds = new Map<string, Hold>();
  private openCount = 0;
  /** Holds changed (taken or closed) since the last write of the guard's balance: written with it (writePending). */
  private unwritten = new Set<string>();
  /** Holds that have a row in the holds table. */
  private stored = new Set<string>();
  /** Closed holds that need no row (closed from a response header, on a key without a charge window). */
  private rowless = new Set<string>();
  /** Credits that closings not yet written moved (refunds and charges above the reserve), for the guard's flush bound. */
  private unwrittenUnits = 0;

  /** Reads every kept hold (a wake). */
  static load(sql: SqlStorage): HoldBook {
    const book = new HoldBook();
    for (const row of sql.exec("SELECT id, at, reserve, expires_at, charge, closed_by, uncharged FROM holds")) {
      const hold: Hold = {
        id: String(row.id),
        at: Number(row.at),
        reserve: Number(row.reserve),
        expiresAt: Number(row.expires_at),
        charge: row.charge === null ? null : Number(row.charge),
        closedBy: row.closed_by === null ? null : (String(row.closed_by) as "settle" | "expiry"),
        uncharged: Number(row.uncharged),
      };
      book.holds.set(hold.id, hold);
      book.stored.add(hold.id);
      if (hold.charge === null) book.openCount++;
    }
    return book;
  }

  get open(): number {
    return this.openCount;
  }

  find(id: string): Hold | undefined {
    return this.holds.get(id);
  }

  /**
   * Records a new open hold, in memory: its row is written with the balance it
   * took (writePending, from the guard's writeState), never before or alone.
   */
  take(hold: Hold): void {
    this.holds.set(hold.id, hold);
    this.openCount++;
    this.unwritten.add(hold.id);
  }

  /** Holds changed and not yet written. */
  get pending(): number {
    return this.unwritten.size;
  }

  /** Credits moved by closings not yet written (see unwrittenUnits). */
  get pendingUnits(): number {
    return this.unwrittenUnits;
  }

  /**
   * Open holds never written and taken after `since`, newest first while their
   * reserves total at most `cap`: a batch may leave them for the next
   * (GuardRoom.flush), when most have closed and need no row at all.
   */
  young(since: number, cap: number): Young {
    const young: Young = { ids: new Set(), units: 0 };
    const candidates: Hold[] = [];
    for (const id of this.unwritten) {
      const h = this.holds.get(id);
      if (h !== undefined && h.charge === null && h.at > since && !this.stored.has(id)) candidates.push(h);
    }
    for (const h of candidates.sort((a, b) => b.at - a.at)) {
      if (young.units + h.reserve > cap) break;
      young.ids.add(h.id);
      young.units += h.reserve;
    }
    return young;
  }

  /**
   * Writes every hold changed since the last write, as it stands: open, or
   * closed; a closed hold that needs no row is not written, and its open row,
   * if it had one, is deleted. `left`: holds to leave unwritten (see young).
   * Answers the rows written.
   */
  writePending(sql: SqlStorage, left?: ReadonlySet<string>): number {
    let rows = 0;
    for (const id of this.unwritten) {
      const h = this.holds.get(id);
      if (h === undefined || left?.has(id)) continue;
      if (this.rowless.has(id)) {
        if (this.stored.delete(id)) rows += sql.exec("DELETE FROM holds WHERE id = ?", id).rowsWritten;
        continue;
      }
      rows += sql.exec(
        "INSERT OR REPLACE INTO holds (id, at, reserve, expires_at, charge, closed_by, uncharged) VALUES (?, ?, ?, ?, ?, ?, ?)",
        h.id,
        h.at,
        h.reserve,
        h.expiresAt,
        h.charge,
        h.closedBy,
        h.uncharged,
      ).rowsWritten;
      this.stored.add(id);
    }
    this.unwritten = new Set(left === undefined ? [] : [...left].filter((id) => this.unwritten.has(id)));
    this.unwrittenUnits = 0;
    this.trimRowless();
    return rows;
  }

  /** Forgets an open hold whose request was refused after all (the org refused it); answers the rows written. */
  drop(sql: SqlStorage, id: string): number {
    const hold = this.holds.get(id);
    if (hold === undefined) return 0;
    this.forget(id);
    if (hold.charge === null) this.openCount--;
    return this.stored.delete(id) ? sql.exec("DELETE FROM holds WHERE id = ?", id).rowsWritten : 0;
  }

  /**
   * Closes an open hold with what was charged, in memory: written with the
   * balance (writePending). `rowless`: the closed hold needs no row (see the class).
   */
  close(hold: Hold, charge: number, uncharged: number, by: "settle" | "expiry", rowless = false): void {
    if (hold.charge === null) this.openCount--;
    this.unwrittenUnits += Math.abs(hold.reserve - charge);
    hold.charge = charge;
    hold.uncharged = uncharged;
    hold.closedBy = by;
    if (rowless) this.rowless.add(hold.id);
    this.unwritten.add(hold.id);
  }

  /** Open holds whose time is up at `now`, oldest first. */
  due(now: number): Hold[] {
    const due: Hold[] = [];
    for (const h of this.holds.values()) if (h.charge === null && h.expiresAt <= now) due.push(h);
    return due.sort((a, b) => a.expiresAt - b.expiresAt);
  }

  /** The earliest open hold's expiry (null: none open). */
  nextExpiry(): number | null {
    let next: number | null = null;
    for (const h of this.holds.values()) if (h.charge === null && (next === null || h.expiresAt < next)) next = h.expiresAt;
    return next;
  }

  /** The earliest time a closed hold may be forgotten (null: nothing to forget later). */
  nextPrune(keepMs: number): number | null {
    let next: number | null = null;
    for (const h of this.holds.values()) {
      if (h.charge === null) continue;
      const at = Math.max(h.expiresAt, h.at + keepMs) + CLOSED_HOLD_KEPT_MS;
      if (next === null || at < next) next = at;
    }
    return next;
  }

  /**
   * Forgets closed holds older than their expiry plus CLOSED_HOLD_KEPT_MS and
   * than `keepMs` (the longest charge window, which rebuilds from them).
   */
  prune(sql: SqlStorage, now: number, keepMs: number): number {
    let rows = 0;
    for (const h of [...this.holds.values()]) {
      if (h.charge === null || Math.max(h.expiresAt, h.at + keepMs) + CLOSED_HOLD_KEPT_MS > now) continue;
      this.forget(h.id);
      if (this.stored.delete(h.id)) rows += sql.exec("DELETE FROM holds WHERE id = ?", h.id).rowsWritten;
    }
    return rows;
  }

  /**
   * Forgets the oldest closed holds without a row beyond ROWLESS_KEPT, once
   * written (their open row deleted): a busy key closes thousands a minute,
   * each kept only to answer a repeat and for the console's latest settlements.
   * A settle of a forgotten one answers 404 and changes nothing (docs/metering.md).
   */
  private trimRowless(): void {
    for (const id of this.rowless) {
      if (this.rowless.size <= ROWLESS_KEPT) return;
      if (!this.unwritten.has(id)) this.forget(id);
    }
  }

  /** Forgets a hold in memory (its row, if any, is the caller's). */
  private forget(id: string): void {
    this.holds.delete(id);
    this.unwritten.delete(id);
    this.rowless.delete(id);
  }

  /** Every kept hold, for a charge window's rebuild: open ones at their reserve, closed ones at their charge. */
  all(): Iterable<Hold> {
    return this.holds.values();
  }

  /** Open holds and the latest closings, newest first, for the admin API and the console. */
  view(limit = 10): { open: HoldView[]; recent: HoldView[] } {
    const all = [...this.holds.values()].sort((a, b) => b.at - a.at);
    const open = all.filter((h) => h.charge === null).slice(0, limit);
    const recent = all.filter((h) => h.charge !== null).slice(0, limit);
    return { open: open.map((h) => ({ ...h })), recent: recent.map((h) => ({ ...h })) };
  }
}
