/**
 * A key's lease holder at one location (local admission, docs/contract.md): a
 * Durable Object named `<key id>@<location>`, so Cloudflare places it near the
 * callers of that location. It admits from the lease its key's guard granted,
 * without crossing to the guard; it asks the guard only when its lease runs dry
 * or ends, and then gives the old one back with how it was used. A lease left
 * unused for LEASE_IDLE_MS, or at its end, is given back from the holder's alarm,
 * so that its unused units flow back to the other locations.
 *
 * It keeps nothing durable but that alarm: a holder that crashes loses its lease,
 * which its guard keeps counted until the lease's expiry plus the window. Other
 * locations' leases are untouched.
 */
import { DurableObject } from "cloudflare:workers";
import type { GuardVerdict } from "./guard-types";
import type { LeaseReport } from "./lease-book";
import { LEASE_IDLE_MS, LeasePurse } from "./lease-purse";
import type { LeaseAnswer, LeaseAsk, LeaseGuards, LocalCheck } from "./lease-types";

/** What a lease holder reads of the Worker's environment. */
export interface LeaseHolderEnv {
  KEY_GUARD: LeaseGuards;
}

/** A holder's counts since it started: asks to the guard, requests admitted and forwarded, leases returned idle. */
export interface HolderCounts {
  asks: number;
  admitted: number;
  forwarded: number;
  returned: number;
  usable: boolean;
}

export class LeaseHolder extends DurableObject<LeaseHolderEnv> {
  #purse = new LeasePurse();
  /**
   * The call to the guard on its way, an ask or a hand-back: one at a time, shared
   * by every request that finds the lease dry meanwhile. Null answer: a hand-back
   * (nothing granted), so the waiting requests ask again.
   */
  #asking: Promise<LeaseAnswer | null> | null = null;
  /** The last request's key, location and settings: what a hand-back from the alarm tells the guard. */
  #last: LocalCheck | null = null;
  /** When the alarm is set for (in memory: after an eviction the alarm finds no lease and ends). */
  #alarmAt: number | null = null;
  #counters = { asks: 0, admitted: 0, forwarded: 0, returned: 0 };

  /** Test hooks, with the object in hand (runInDurableObject): static, so no RPC method. */
  static hooks(holder: LeaseHolder): { sweep(now: number): Promise<void>; describe(): HolderCounts } {
    return {
      sweep: (now) => holder.#sweep(now),
      // What this holder did since it started (tests, and the bench's BenchLeaseHolder).
      describe: () => ({ ...holder.#counters, usable: holder.#purse.usable(Date.now()) }),
    };
  }

  /** Decides one consuming request from the lease; asks the guard when the lease cannot. */
  async check(input: LocalCheck): Promise<GuardVerdict> {
    this.#last = input;
    for (;;) {
      const now = Date.now();
      const taken = this.#purse.take(now);
      if (taken !== null) {
        this.#counters.admitted++;
        const { grant, left, expiresAt } = taken;
        // This location's view: what its lease has left, and when the lease ends.
        return { kind: "admitted", limit: grant.limit, windowSeconds: grant.windowSeconds, remaining: left, resetMs: expiresAt - now, credits: null };
      }
      this.#asking ??= this.#ask(input).finally(() => {
        this.#asking = null;
      });
      const answer = await this.#asking;
      if (answer === null) continue; // a hand-back was on its way: ask now
      if (answer.kind === "central") {
        // Credits and org limits stay with the guard: it decides this request as for a central key.
        this.#counters.forwarded++;
        return this.#guard(input.settings.keyId).check(input) as Promise<GuardVerdict>;
      }
      if (answer.kind === "refused") {
        if (answer.verdict.kind === "limited") this.#purse.refuse();
        return answer.verdict;
      }
      // A lease: the next turn takes from it (or, taken by the requests ahead, asks again).
    }
  }

  /** Asks the guard for a lease, giving back the current one with its uses. */
  async #ask(input: LocalCheck): Promise<LeaseAnswer> {
    this.#counters.asks++;
    const askedAt = Date.now();
    const report = this.#purse.handBack(askedAt);
    const ask: LeaseAsk = { holder: input.location, settings: input.settings, report, ...(input.org !== undefined ? { org: input.org } : {}) };
    const answer = (await this.#guard(input.settings.keyId).lease(ask)) as LeaseAnswer;
    // Not installed when a recall overtook it (a grant from before a revoke never
    // admits): the requests waiting then ask again, and hear the guard's new word.
    if (answer.kind === "lease" && this.#purse.install(answer.grant, askedAt)) this.#arm(this.#purse.handBackAt(LEASE_IDLE_MS));
    return answer;
  }

  override async alarm(): Promise<void> {
    await this.#sweep(Date.now());
  }

  /**
   * The alarm's work at `now` (alarm() passes the clock, tests a fake one): a
   * lease idle for LEASE_IDLE_MS, or ended, is handed back to the guard; one still
   * in use sets the alarm for when it may be idle.
   */
  async #sweep(now: number): Promise<void> {
    this.#alarmAt = null;
    // An ask under way hands the lease back itself, and arms the alarm for the new one.
    if (this.#asking !== null) return;
    const due = this.#purse.handBackAt(LEASE_IDLE_MS);
    const last = this.#last;
    if (due === null || last === null) return;
    if (due > now) return this.#arm(due);
    const report = this.#purse.handBack(now);
    if (report === null) return;
    this.#counters.returned++;
    const back = { holder: last.location, settings: last.settings, report, ...(last.org !== undefined ? { org: last.org } : {}) };
    // Requests arriving meanwhile wait for it, then ask: the guard hears the hand-back first.
    // Should it fail, the guard keeps the lease counted until its expiry plus the window.
    this.#asking = Promise.resolve(this.#guard(last.settings.keyId).returnLease(back))
      .then(() => null)
      .catch(() => null)
      .finally(() => {
        this.#asking = null;
      });
    await this.#asking;
  }

  /**
   * Sets the alarm for `at` unless one is set sooner. Unconfirmed: the reply it
   * may delay need not wait for it, since a lost alarm only means the guard keeps
   * the lease counted longer (the conservative side). One per lease, not per request.
   */
  #arm(at: number | null): void {
    if (at === null || (this.#alarmAt !== null && this.#alarmAt <= at)) return;
    this.#alarmAt = at;
    void this.ctx.storage.setAlarm(at, { allowUnconfirmed: true });
  }

  /** The guard's recall: from now on nothing is admitted from the lease, nor from a grant older than `epoch`. */
  recall(input: { epoch: number }): LeaseReport | null {
    return this.#purse.recall(input.epoch, Date.now());
  }

  #guard(keyId: string) {
    return this.env.KEY_GUARD.get(this.env.KEY_GUARD.idFromName(keyId));
  }
}
