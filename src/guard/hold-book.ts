import { CLOSED_HOLD_KEPT_MS, type Hold, type HoldView } from "../metering/holds";

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
 * A new hold is written with the balance it took, in the admissions' batch
 * (the guard's writeState writes every pending hold beside the balance), so the
 * two never disagree: an abrupt crash forgets both, never one. A settlement
 * writes its hold and the balance before it answers.
 */
export class HoldBook {
  private holds = new Map<string, Hold>();
  private openCount = 0;
  /** Holds taken (or closed) since the last write of the guard's balance: written with it (writePending). */
  private unwritten = new Set<string>();

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

  /** Holds not yet written. */
  get pending(): number {
    return this.unwritten.size;
  }

  /** Writes every hold not yet written, as it stands (open, or already closed); answers the rows written. */
  writePending(sql: SqlStorage): number {
    let rows = 0;
    for (const id of this.unwritten) {
      const h = this.holds.get(id);
      if (h === undefined) continue;
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
    }
    this.unwritten.clear();
    return rows;
  }

  /** Forgets an open hold whose request was refused after all (the org refused it); answers the rows written. */
  drop(sql: SqlStorage, id: string): number {
    const hold = this.holds.get(id);
    if (hold === undefined) return 0;
    this.holds.delete(id);
    if (hold.charge === null) this.openCount--;
    if (this.unwritten.delete(id)) return 0;
    return sql.exec("DELETE FROM holds WHERE id = ?", id).rowsWritten;
  }

  /** Closes an open hold with what was charged; answers the rows written (none for a hold not yet written: it is written closed). */
  close(sql: SqlStorage, hold: Hold, charge: number, uncharged: number, by: "settle" | "expiry"): number {
    if (hold.charge === null) this.openCount--;
    hold.charge = charge;
    hold.uncharged = uncharged;
    hold.closedBy = by;
    if (this.unwritten.has(hold.id)) return 0;
    return sql.exec("UPDATE holds SET charge = ?, closed_by = ?, uncharged = ? WHERE id = ?", charge, by, uncharged, hold.id).rowsWritten;
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
      this.holds.delete(h.id);
      if (this.unwritten.delete(h.id)) continue;
      rows += sql.exec("DELETE FROM holds WHERE id = ?", h.id).rowsWritten;
    }
    return rows;
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
