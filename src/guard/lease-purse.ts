/**
 * One location's lease of a key, as its holder keeps it (in memory only: a holder
 * that crashes loses its lease, which its guard keeps reserved until the lease's
 * expiry plus the window, and no more). Pure: the caller passes `now` (the
 * holder's clock).
 */
import type { LeaseReport } from "./lease-book";

/** Uses closer together than this are reported as one group (at the group's latest use). */
const GROUP_MS = 250;

/**
 * A lease unused for this long is handed back by its holder's alarm (lease-holder.ts),
 * so that its unused units are free for other locations at once, not only once the
 * guard can tell the lease is over (its expiry plus the window). Short against the
 * lease's life (LEASE_TTL_MS, 5 s): a location that pauses this long asks again on
 * its next request, one round trip to the guard.
 */
export const LEASE_IDLE_MS = 1_000;

/** A lease as its guard granted it. */
export interface LeaseGrant {
  id: number;
  units: number;
  /** How long it lives, counted from when the holder asked (so it ends no later than the guard thinks). */
  ttlMs: number;
  epoch: number;
  limit: number;
  windowSeconds: number;
}

interface Held {
  grant: LeaseGrant;
  left: number;
  /** The holder's clock: no admission at or after it. */
  expiresAt: number;
  /** When the holder asked for it (the holder's clock). */
  askedAt: number;
  /** Groups of uses: [latest use, count]. */
  uses: Array<[number, number]>;
}

export class LeasePurse {
  private held: Held | null = null;
  /** The highest recall epoch seen: a grant from before it is dropped. */
  private epochSeen = 0;
  /** Refusals since the last report. */
  private refused = 0;

  /** Takes one admission from the lease at `now`; null when there is none to take. */
  take(now: number): { grant: LeaseGrant; left: number; expiresAt: number } | null {
    const h = this.held;
    if (h === null || h.left <= 0 || now >= h.expiresAt) return null;
    h.left--;
    const last = h.uses.at(-1);
    if (last !== undefined && now - last[0] < GROUP_MS) {
      last[0] = Math.max(last[0], now);
      last[1]++;
    } else h.uses.push([now, 1]);
    return { grant: h.grant, left: h.left, expiresAt: h.expiresAt };
  }

  /** Counts a refusal given here, for the next report. */
  refuse(): void {
    this.refused++;
  }

  /** Whether the lease can still admit at `now` (a holder asks for more only when it cannot). */
  usable(now: number): boolean {
    return this.held !== null && this.held.left > 0 && now < this.held.expiresAt;
  }

  /**
   * Installs a grant asked for at `askedAt`; false (and nothing held) when a
   * recall newer than the grant has been seen meanwhile: the grant is void.
   */
  install(grant: LeaseGrant, askedAt: number): boolean {
    if (grant.epoch < this.epochSeen) return false;
    this.held = { grant, left: grant.units, expiresAt: askedAt + grant.ttlMs, askedAt, uses: [] };
    return true;
  }

  /**
   * When the lease should be handed back unasked: `idleMs` after its latest use
   * (or after it was asked for, if unused), or at its expiry if that is sooner;
   * null when nothing is held.
   */
  handBackAt(idleMs: number): number | null {
    const h = this.held;
    if (h === null) return null;
    const lastUse = h.uses.at(-1)?.[0] ?? h.askedAt;
    return Math.min(h.expiresAt, lastUse + idleMs);
  }

  /** Gives the lease up at `now`: nothing more is admitted from it; answers the report for the guard. */
  handBack(now: number): LeaseReport | null {
    const h = this.held;
    this.held = null;
    const refused = this.refused;
    if (h === null && refused === 0) return null;
    this.refused = 0;
    return {
      leaseId: h?.grant.id ?? 0,
      uses: (h?.uses ?? []).map(([at, count]) => [Math.max(0, now - at), count]),
      refused,
    };
  }

  /** A recall from the guard: drops the lease, and any grant from before `epoch` still on its way. */
  recall(epoch: number, now: number): LeaseReport | null {
    this.epochSeen = Math.max(this.epochSeen, epoch);
    return this.handBack(now);
  }
}
