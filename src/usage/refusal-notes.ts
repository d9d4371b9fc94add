import type { GuardClient } from "../guard/guard-client";
import type { KeySettings } from "../guard/guard-types";
import type { Logger } from "../log";
import type { Caller } from "./usage-book";

export interface RefusalNotesOptions {
  guards: GuardClient;
  now: () => number;
  log: Logger;
  /** Per key and isolate, at most one note to the guard in this long. */
  intervalMs?: number;
  /** Keys tracked per isolate; the least recently noted are forgotten first. */
  maxKeys?: number;
}

interface Pending {
  count: number;
  sentAt: number;
}

/**
 * Counts refusals the gateway decides without its guard (a KV record that
 * already says revoked: final, so the guard is not asked) so that a dead key
 * still being tried shows in its usage. The guard is told off the client's
 * path (the caller hands the promise to waitUntil), and at most once a second
 * per key per isolate, with how many refusals it stands for: a flood of a
 * revoked key costs a bounded number of guard calls. Refusals after the last
 * note of a burst are carried by the next one, so an isolate that ends first
 * forgets at most one interval's worth.
 */
export function refusalNotes(options: RefusalNotesOptions) {
  const interval = options.intervalMs ?? 1000;
  const maxKeys = options.maxKeys ?? 10_000;
  const pending = new Map<string, Pending>();
  return function noteRefusal(input: { org: string; settings: KeySettings; code: string; caller: Caller | null }): Promise<void> | null {
    const id = input.settings.keyId;
    const entry = pending.get(id) ?? { count: 0, sentAt: Number.NEGATIVE_INFINITY };
    pending.delete(id);
    pending.set(id, entry); // most recently noted last
    if (pending.size > maxKeys) pending.delete(pending.keys().next().value as string);
    entry.count++;
    const now = options.now();
    if (now - entry.sentAt < interval) return null;
    const count = entry.count;
    entry.count = 0;
    entry.sentAt = now;
    return options.guards.note({ org: input.org, settings: input.settings, code: input.code, count, caller: input.caller }).catch(() => {
      // Usage is informational: a lost note is logged by the client, never an error for the caller.
    });
  };
}
