/**
 * A key's leases as its guard holds them (local admission, docs/contract.md).
 * Pure: the caller passes `now`; the guard persists `serialize()`.
 *
 * Why it is exact. Every admission is covered by a reservation, an interval
 * [from, until) with from <= the admission's time and until >= its time + window:
 * - a central admission at t: [t, t + window) (the guard's sliding window);
 * - a leased unit: [grant, expiry + window) while the guard does not know how it
 *   was used; once the holder reports, [grant, lastUse + window) for a used unit,
 *   and nothing for an unused one (it can no longer be used: the holder gave it up).
 * Every reservation starts at or before the moment it is made, so the number live
 * at any later instant is at most the number live now; the guard grants only
 * while live + new <= limit. So at every instant at most `limit` reservations are
 * live, and any window-long interval's admissions all cover its last admission's
 * instant: at most `limit` of them.
 */

/** The longest a lease lives: a holder refuses after it, so an unreachable holder's lease dies by time. */
export const LEASE_TTL_MS = 5_000;

/** A share is at most this fraction of the limit, so that other locations find some left. */
const SHARE_FRACTION = 10;

/** One lease: `units` admissions a holder (a location) may make before `expiresAt` (the guard's clock). */
export interface Lease {
  id: number;
  holder: string;
  units: number;
  grantedAt: number;
  expiresAt: number;
  /** The recall epoch it was granted in; a holder drops a grant older than a recall it has seen. */
  epoch: number;
}

/**
 * How a holder used a lease, told when it gives the lease back: for each group of
 * uses, how long before the report the group's latest use was (the holder's clock,
 * as a duration, so that clocks need not agree) and how many uses it holds.
 */
export interface LeaseReport {
  leaseId: number;
  uses: Array<[ageMs: number, count: number]>;
  /** Requests the holder refused (RATE_LIMITED) since its last report, for usage counts. */
  refused: number;
}

/** Used units of settled or lost leases, live until `until`. */
interface Hold {
  units: number;
  until: number;
}

interface BookData {
  epoch: number;
  nextId: number;
  leases: Lease[];
  holds: Hold[];
}

export type GrantResult = { granted: true; lease: Lease } | { granted: false; retryAfterMs: number };

/** What a grant needs to know of the key: its limit and window, and the guard's own admissions in the window. */
export interface GrantContext {
  limit: number;
  windowMs: number;
  /** Central admissions in the guard's sliding window at `now`. */
  inWindow: number;
  /** When the oldest of those leaves the window (ms from now); 0 when none. */
  windowResetMs: number;
  /** The lease may not outlive this (a key's expiry or scheduled revocation), epoch ms; null: no bound. */
  endsAt: number | null;
}

export class LeaseBook {
  epoch: number;
  private nextId: number;
  private leases: Map<string, Lease>;
  private holds: Hold[];

  constructor(data: BookData | null = null) {
    this.epoch = data?.epoch ?? 0;
    this.nextId = data?.nextId ?? 1;
    this.leases = new Map((data?.leases ?? []).map((l) => [l.holder, l]));
    this.holds = data?.holds ?? [];
  }

  /** Units reserved at `now` (to subtract from the limit): live leases and holds. */
  live(now: number, windowMs: number): number {
    let n = 0;
    for (const l of this.leases.values()) if (now < l.expiresAt + windowMs) n += l.units;
    for (const h of this.holds) if (now < h.until) n += h.units;
    return n;
  }

  /** Holders whose lease may still admit at `now` (those a recall must reach). */
  holders(now: number): Lease[] {
    return [...this.leases.values()].filter((l) => now < l.expiresAt);
  }

  /**
   * Grants `holder` a share of what is free at `now`. A lease it still held (and
   * did not report: it crashed, or its grant was lost) becomes a hold for the
   * whole lease until its expiry plus the window: conservative, and only its own.
   */
  grant(holder: string, now: number, ctx: GrantContext): GrantResult {
    this.prune(now, ctx.windowMs);
    const old = this.leases.get(holder);
    if (old) this.lose(old, ctx.windowMs);
    const free = ctx.limit - ctx.inWindow - this.live(now, ctx.windowMs);
    const ttl = Math.min(LEASE_TTL_MS, ctx.windowMs, ctx.endsAt === null ? Number.POSITIVE_INFINITY : ctx.endsAt - now);
    if (free <= 0 || ttl <= 0) return { granted: false, retryAfterMs: this.nextFreeMs(now, ctx) };
    const others = this.holders(now).length;
    // Enough that a busy location rarely asks, small enough that the last units
    // of a window are spread over the locations that still ask.
    const share = Math.max(1, Math.min(Math.ceil(ctx.limit / SHARE_FRACTION), Math.floor(free / (others + 2))));
    const lease: Lease = { id: this.nextId++, holder, units: Math.min(share, free), grantedAt: now, expiresAt: now + ttl, epoch: this.epoch };
    this.leases.set(holder, lease);
    return { granted: true, lease };
  }

  /**
   * A holder gives its lease back with how it used it: unused units are free at
   * once, used ones stay reserved until their group's latest use plus the window.
   * `now` is when the report arrived, so `now - age` is at or after the real use.
   * Answers the units used (for usage counts); 0 for a report of an unknown lease.
   */
  settle(holder: string, report: LeaseReport, now: number, windowMs: number): number {
    const lease = this.leases.get(holder);
    if (!lease || lease.id !== report.leaseId) return 0;
    this.leases.delete(holder);
    let left = lease.units;
    for (const [age, count] of report.uses) {
      const units = Math.min(left, Math.max(0, Math.floor(count)));
      if (units === 0) continue;
      left -= units;
      // Never before the grant nor after the lease's own bound.
      const until = Math.min(lease.expiresAt, Math.max(lease.grantedAt, now - Math.max(0, age))) + windowMs;
      this.holds.push({ units, until });
    }
    return lease.units - left;
  }

  /** Starts a recall: a grant made before it is refused by a holder that has seen it. */
  recall(): number {
    return ++this.epoch;
  }

  /** A holder that could not be told: its lease is kept whole until it dies by time. */
  private lose(lease: Lease, windowMs: number): void {
    this.leases.delete(lease.holder);
    this.holds.push({ units: lease.units, until: lease.expiresAt + windowMs });
  }

  /** Drops what no longer counts; merges holds ending within a 200th of the window (bounded storage). */
  private prune(now: number, windowMs: number): void {
    for (const l of this.leases.values()) if (now >= l.expiresAt + windowMs) this.leases.delete(l.holder);
    const merged = new Map<number, number>();
    const step = Math.max(1, Math.ceil(windowMs / 200));
    for (const h of this.holds) {
      if (now >= h.until) continue;
      // Rounded up: a merged hold ends no earlier than any of its parts.
      const until = Math.ceil(h.until / step) * step;
      merged.set(until, (merged.get(until) ?? 0) + h.units);
    }
    this.holds = [...merged].map(([until, units]) => ({ units, until }));
  }

  /** When something next frees: the first hold or lease to end, or the window's oldest admission. */
  private nextFreeMs(now: number, ctx: GrantContext): number {
    let next = ctx.inWindow > 0 ? now + ctx.windowResetMs : Number.POSITIVE_INFINITY;
    for (const h of this.holds) next = Math.min(next, h.until);
    for (const l of this.leases.values()) next = Math.min(next, l.expiresAt + ctx.windowMs, l.expiresAt);
    return Number.isFinite(next) ? Math.max(1, next - now) : ctx.windowMs;
  }

  serialize(): string {
    const data: BookData = { epoch: this.epoch, nextId: this.nextId, leases: [...this.leases.values()], holds: this.holds };
    return JSON.stringify(data);
  }

  static parse(text: string | null): LeaseBook {
    return new LeaseBook(text === null ? null : (JSON.parse(text) as BookData));
  }
}
