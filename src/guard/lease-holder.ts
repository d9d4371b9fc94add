/**
 * A key's lease holder at one location (local admission, docs/contract.md): a
 * Durable Object named `<key id>@<location>`, so Cloudflare places it near the
 * callers of that location. It admits from the lease its key's guard granted,
 * without crossing to the guard; it asks the guard only when its lease runs dry
 * or ends, and then gives the old one back with how it was used.
 *
 * It keeps nothing durable: a holder that crashes loses its lease, which its
 * guard keeps counted until the lease's expiry plus the window. Other locations'
 * leases are untouched.
 */
import { DurableObject } from "cloudflare:workers";
import type { GuardVerdict } from "./guard-types";
import type { LeaseReport } from "./lease-book";
import { LeasePurse } from "./lease-purse";
import type { LeaseAnswer, LeaseAsk, LeaseGuards, LocalCheck } from "./lease-types";

/** What a lease holder reads of the Worker's environment. */
export interface LeaseHolderEnv {
  KEY_GUARD: LeaseGuards;
}

export class LeaseHolder extends DurableObject<LeaseHolderEnv> {
  private purse = new LeasePurse();
  /** The ask on its way, shared by every request that finds the lease dry meanwhile (one ask at a time). */
  private asking: Promise<LeaseAnswer> | null = null;
  private counters = { asks: 0, admitted: 0, forwarded: 0 };

  /** Decides one consuming request from the lease; asks the guard when the lease cannot. */
  async check(input: LocalCheck): Promise<GuardVerdict> {
    for (;;) {
      const now = Date.now();
      const taken = this.purse.take(now);
      if (taken !== null) {
        this.counters.admitted++;
        const { grant, left, expiresAt } = taken;
        // This location's view: what its lease has left, and when the lease ends.
        return { kind: "admitted", limit: grant.limit, windowSeconds: grant.windowSeconds, remaining: left, resetMs: expiresAt - now, credits: null };
      }
      this.asking ??= this.ask(input).finally(() => {
        this.asking = null;
      });
      const answer = await this.asking;
      if (answer.kind === "central") {
        // Credits and org limits stay with the guard: it decides this request as for a central key.
        this.counters.forwarded++;
        return this.guard(input.settings.keyId).check(input) as Promise<GuardVerdict>;
      }
      if (answer.kind === "refused") {
        if (answer.verdict.kind === "limited") this.purse.refuse();
        return answer.verdict;
      }
      // A lease: the next turn takes from it (or, taken by the requests ahead, asks again).
    }
  }

  /** Asks the guard for a lease, giving back the current one with its uses. */
  private async ask(input: LocalCheck): Promise<LeaseAnswer> {
    this.counters.asks++;
    const askedAt = Date.now();
    const report = this.purse.handBack(askedAt);
    const ask: LeaseAsk = { holder: input.location, settings: input.settings, report, ...(input.org !== undefined ? { org: input.org } : {}) };
    const answer = (await this.guard(input.settings.keyId).lease(ask)) as LeaseAnswer;
    // Not installed when a recall overtook it (a grant from before a revoke never
    // admits): the requests waiting then ask again, and hear the guard's new word.
    if (answer.kind === "lease") this.purse.install(answer.grant, askedAt);
    return answer;
  }

  /** The guard's recall: from now on nothing is admitted from the lease, nor from a grant older than `epoch`. */
  recall(input: { epoch: number }): LeaseReport | null {
    return this.purse.recall(input.epoch, Date.now());
  }

  /** What this holder did since it started (tests, and the bench). */
  describe(): { asks: number; admitted: number; forwarded: number; usable: boolean } {
    return { ...this.counters, usable: this.purse.usable(Date.now()) };
  }

  private guard(keyId: string) {
    return this.env.KEY_GUARD.get(this.env.KEY_GUARD.idFromName(keyId));
  }
}
