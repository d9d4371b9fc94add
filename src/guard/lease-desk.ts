/**
 * The guard's side of local admission: its lease book, stored in one row, and
 * the recall that a revoke, disable or limit change awaits before it returns.
 */
import { withTimeout } from "../timeout";
import { type GrantContext, type GrantResult, LeaseBook, type LeaseReport } from "./lease-book";
import type { LeaseHolders } from "./lease-types";

/** A holder that has not confirmed a recall within this is waited out instead (its lease dies by time). */
export const RECALL_TIMEOUT_MS = 2_000;

/** What the guard reads of the Worker's environment for leases. Absent: no local admission (every key central). */
export interface LeaseDeskEnv {
  LEASE_HOLDER?: LeaseHolders;
}

/** The holder object of one key at one location: named by both, so that Cloudflare places it where it is first used. */
export const holderName = (keyId: string, location: string) => `${keyId}@${location}`;

export class LeaseDesk {
  private book: LeaseBook;
  /** Recalls this guard made, and holders that did not answer one (waited out), for the status. */
  readonly counters = { recalls: 0, unreachable: 0 };
  /** Recalls under way: a second revoke waits for the first one's before it returns. */
  private running = new Set<Promise<void>>();

  /** `stored`: the book as the wake read it (guard-schema.ts wakeRead), or undefined to read it here. */
  constructor(
    private readonly sql: SqlStorage,
    private readonly holders: LeaseHolders | undefined,
    stored?: string | null,
  ) {
    // Its own table (created by guard-schema.ts, docs/storage.md): a guard that never leases has it empty and never writes it.
    const book = stored !== undefined ? stored : (sql.exec("SELECT book FROM guard_leases WHERE id = 1").toArray()[0]?.book ?? null);
    this.book = LeaseBook.parse(book === null ? null : String(book));
  }

  /** Units held by leases at `now`, which central admissions must leave alone. */
  reserved(now: number, windowMs: number): number {
    return this.book.live(now, windowMs);
  }

  /** A holder's report: unused units are free again; answers the units it used. */
  settle(holder: string, report: LeaseReport, now: number, windowMs: number): number {
    const used = this.book.settle(holder, report, now, windowMs);
    this.write();
    return used;
  }

  /** A share for `holder`, written before the guard answers (the output gate holds the reply until it is durable). */
  grant(holder: string, now: number, ctx: GrantContext): GrantResult {
    const result = this.book.grant(holder, now, ctx);
    this.write();
    return result;
  }

  /**
   * Invalidates every lease that may still admit, and resolves once none can:
   * each holder confirms (handing back its report), or, unreachable, is waited out
   * until its lease's expiry (at most LEASE_TTL_MS). Fail closed by time.
   */
  recall(keyId: string, windowMs: number, onUsed: (used: number, refused: number) => void): Promise<void> {
    const run = this.run(keyId, windowMs, onUsed).finally(() => this.running.delete(run));
    this.running.add(run);
    return run;
  }

  /** Resolves once every recall under way has. */
  async quiet(): Promise<void> {
    await Promise.all(this.running);
  }

  private async run(keyId: string, windowMs: number, onUsed: (used: number, refused: number) => void): Promise<void> {
    const epoch = this.book.recall();
    this.write();
    const now = Date.now();
    const live = this.book.holders(now);
    if (live.length === 0) return;
    this.counters.recalls++;
    await Promise.all(
      live.map(async (lease) => {
        try {
          if (!this.holders) throw new Error("no LEASE_HOLDER binding");
          const stub = this.holders.get(this.holders.idFromName(holderName(keyId, lease.holder)));
          const report = await withTimeout(stub.recall({ epoch }) as Promise<LeaseReport | null>, RECALL_TIMEOUT_MS, "lease holder");
          // A holder that lost its lease answers null: the book keeps it whole (till expiry + window).
          if (report !== null) onUsed(this.book.settle(lease.holder, report, Date.now(), windowMs), report.refused);
        } catch {
          this.counters.unreachable++;
          const wait = lease.expiresAt - Date.now();
          if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait + 1));
        }
      }),
    );
    this.write();
  }

  private write(): void {
    this.sql.exec("INSERT OR REPLACE INTO guard_leases (id, book) VALUES (1, ?)", this.book.serialize());
  }
}
