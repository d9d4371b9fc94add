import type { GuardVerdict } from "./guard-types";

const DEDUPE_ENTRIES = 1024;

/**
 * The verdicts of the latest DEDUPE_ENTRIES request ids, so that a retried RPC
 * (guard-client.ts retries once on a retryable error) is answered again without
 * consuming twice. In memory only: a guard that was reset or evicted between
 * the try and the retry has forgotten the id, and the retry is decided afresh
 * (the bound is in guard-client.ts and docs/storage.md). Persisting ids with the
 * admissions batch would cost bytes on every flush and a parse on every wake,
 * for a case that needs a reset inside one retry.
 */
export class RecentVerdicts {
  private recent = new Map<string, GuardVerdict | Promise<GuardVerdict>>();

  /** The verdict already given to `requestId`, or undefined. */
  get(requestId: string): GuardVerdict | Promise<GuardVerdict> | undefined {
    return this.recent.get(requestId);
  }

  /** Remembers a verdict (or the promise of one, so that a retry arriving meanwhile waits for the same answer). */
  remember(requestId: string, verdict: GuardVerdict | Promise<GuardVerdict>): void {
    this.recent.set(requestId, verdict);
    if (this.recent.size > DEDUPE_ENTRIES) this.recent.delete(this.recent.keys().next().value as string);
  }
}
