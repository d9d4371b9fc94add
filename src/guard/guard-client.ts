import { backendUnavailable, KeywardError } from "../errors";
import type { KeyMeta } from "../identity/key-meta";
import type { Logger } from "../log";
import type { SettleResult } from "../metering/holds";
import { type RequestDeadlines, TimeoutError, withTimeout } from "../timeout";
import type { Granularity } from "../usage/usage-book";
import type { CreditOperation, Credits } from "./credits";
import type { CreditsResult, GuardCheck, GuardNote, GuardStatus, GuardUsage, GuardVerdict, KeySettings } from "./guard-types";
import type { KeyGuard } from "./key-guard";
import { holderName } from "./lease-desk";
import type { LeaseHolder } from "./lease-holder";
import type { LocalCheck } from "./lease-types";
import type { NamedLimit } from "./named-limits";
import type { OrgLimit } from "./org-limit";
import { headerSettles, type SettleHooks } from "./settle-batcher";

export interface GuardClientOptions {
  namespace: DurableObjectNamespace<KeyGuard>;
  /** A guard that has not answered within this is treated as failed (503). */
  timeoutMs: number;
  log: Logger;
  /** Lease holders (local admission); absent: a local check goes to the key's guard, as for a central key. */
  holders?: DurableObjectNamespace<LeaseHolder> | undefined;
}

export interface GuardClient {
  /** `deadlines`: the request's timer, shared with the origin call (one timer per request). */
  check(input: GuardCheck, deadlines?: RequestDeadlines): Promise<GuardVerdict>;
  /** A consuming check of a key in local admission: decided by the lease holder of `input.location` (lease-holder.ts). */
  checkLocal(input: LocalCheck, deadlines?: RequestDeadlines): Promise<GuardVerdict>;
  revoke(settings: KeySettings, at: number | null): Promise<GuardStatus>;
  setLimit(settings: KeySettings, limit: number, windowSeconds: number): Promise<GuardStatus>;
  setDisabled(settings: KeySettings, disabled: boolean): Promise<GuardStatus>;
  /** The key's windows, the main one first of unit requests (src/guard/named-limits.ts). */
  setLimits(settings: KeySettings, limits: NamedLimit[]): Promise<GuardStatus>;
  /** Replaces a guard's whole balance (an org's guard: the org credits); null: none. */
  putCredits(settings: KeySettings, credits: Credits | null): Promise<GuardStatus>;
  /** Tells a key's guard that its org has org credits (spent with every admission) or no longer has. */
  setOrgCredits(settings: KeySettings, org: string | null): Promise<GuardStatus>;
  adjustCredits(settings: KeySettings, change: CreditOperation): Promise<CreditsResult>;
  setMeta(settings: KeySettings, meta: KeyMeta | null): Promise<GuardStatus>;
  /** A new secret for the key (key-secrets.ts): secret tags, and the end of the replaced one's grace. */
  roll(settings: KeySettings, secrets: { replaced: string; next: string; until: number }): Promise<GuardStatus>;
  setOrgLimit(settings: KeySettings, orgLimit: OrgLimit | null): Promise<GuardStatus>;
  status(settings: KeySettings): Promise<GuardStatus>;
  /**
   * Settles a metered request's hold, exactly once (docs/metering.md), on an RPC
   * of its own; the guard writes it before it answers (POST /_keyward/v1/settle).
   */
  settle(keyId: string, requestId: string, charge: number): Promise<SettleResult>;
  /**
   * Settles a hold from the response's Keyward-Charge header: queued per key in
   * this isolate and carried on the key's next check RPC, or alone within
   * CARRY_WAIT_MS (settle-batcher.ts); `hooks` hears when the guard applied it or
   * gave up on it, and takes the request's waitUntil for the time it holds the key's timer.
   */
  settleFromHeader(keyId: string, requestId: string, charge: number, hooks?: SettleHooks): void;
  /** Counts refusals decided without the guard (usage only; decides nothing). */
  note(input: GuardNote): Promise<void>;
  /** The key's usage as its guard holds it (fresh minute buckets). */
  usage(settings: KeySettings, query: { granularity: Granularity; from: number; to: number }): Promise<GuardUsage>;
}

interface DurableObjectError {
  retryable?: boolean;
  overloaded?: boolean;
}

/**
 * Calls a key's guard (one Durable Object per key id; the key itself never names
 * it). Failure policy, fail closed throughout:
 * - overloaded: 503 with Retry-After at once; retrying would add to the overload.
 * - retryable (e.g. the object was reset): one more try on a fresh stub, then 503.
 *   The retry carries the same request id, and a guard answers a request id it
 *   has already decided from memory (its latest 1,024, retry-dedup.ts), so a
 *   retry to the same instance consumes nothing twice. That memory is in process
 *   only: when the guard was reset between the try and the retry, the retry is
 *   decided afresh, and if the first try's admission had been written before the
 *   reset, the request counts twice: one more admission in the window and its
 *   cost in credits, at most once per retried request (docs/storage.md). An
 *   admission still pending is forgotten by the reset itself (see pendingCap).
 * - anything else, or no answer within the timeout: 503.
 */
export function guardClient(options: GuardClientOptions): GuardClient {
  const stubFor = (keyId: string) => options.namespace.get(options.namespace.idFromName(keyId));

  function call<T>(keyId: string, op: string, invoke: (stub: DurableObjectStub<KeyGuard>) => Promise<T>, deadlines?: RequestDeadlines): Promise<T> {
    return callObject(() => stubFor(keyId), keyId, op, invoke, deadlines);
  }

  // The same failure policy for a lease holder: it fails closed when it cannot reach the guard.
  async function callObject<T, S>(stubOf: () => S, keyId: string, op: string, invoke: (stub: S) => Promise<T>, deadlines?: RequestDeadlines): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        const answer = invoke(stubOf());
        return await (deadlines
          ? deadlines.race(answer, options.timeoutMs, () => new TimeoutError("key guard", options.timeoutMs))
          : withTimeout(answer, options.timeoutMs, "key guard"));
      } catch (error) {
        if (error instanceof KeywardError) throw error;
        const e = error as DurableObjectError;
        options.log.error("guard_call_failed", { op, keyId, attempt, retryable: e.retryable === true, overloaded: e.overloaded === true });
        if (e.overloaded) throw backendUnavailable("the key's guard (overloaded)", 2);
        if (e.retryable && attempt < 2) continue;
        throw backendUnavailable("the key's guard");
      }
    }
  }

  // A batch is safe to retry: a hold settles once, and a repeat answers the first settlement.
  const headers = headerSettles((keyId, items) => call(keyId, "settle", (stub) => stub.settleHolds({ items }) as Promise<SettleResult[]>), {
    giveUpMs: 2 * options.timeoutMs,
  });

  /** A check of the key's guard, carrying the key's queued header settlements (settle-batcher.ts). */
  function check(input: GuardCheck, deadlines?: RequestDeadlines): Promise<GuardVerdict> {
    const carried = headers.carry(input.settings.keyId);
    const sent = carried === null ? input : { ...input, settles: carried.items };
    const answer = call(input.settings.keyId, "check", (stub) => stub.check(sent) as Promise<GuardVerdict>, deadlines);
    if (carried !== null) answer.then(carried.answered, carried.failed);
    return answer;
  }

  return {
    check,
    checkLocal: (input, deadlines) => {
      const holders = options.holders;
      if (holders === undefined) return check(input, deadlines);
      const stubOf = () => holders.get(holders.idFromName(holderName(input.settings.keyId, input.location)));
      return callObject(stubOf, input.settings.keyId, "checkLocal", (stub) => stub.check(input) as Promise<GuardVerdict>, deadlines);
    },
    revoke: (settings, at) => call(settings.keyId, "revoke", (stub) => stub.revoke({ settings, at }) as Promise<GuardStatus>),
    setLimit: (settings, limit, windowSeconds) =>
      call(settings.keyId, "setLimit", (stub) => stub.setLimit({ settings, limit, windowSeconds }) as Promise<GuardStatus>),
    setLimits: (settings, limits) => call(settings.keyId, "setLimits", (stub) => stub.setLimits({ settings, limits }) as Promise<GuardStatus>),
    putCredits: (settings, credits) => call(settings.keyId, "putCredits", (stub) => stub.putCredits({ settings, credits }) as Promise<GuardStatus>),
    setOrgCredits: (settings, org) => call(settings.keyId, "setOrgCredits", (stub) => stub.setOrgCredits({ settings, org }) as Promise<GuardStatus>),
    setDisabled: (settings, disabled) => call(settings.keyId, "setDisabled", (stub) => stub.setDisabled({ settings, disabled }) as Promise<GuardStatus>),
    adjustCredits: (settings, change) => call(settings.keyId, "adjustCredits", (stub) => stub.adjustCredits({ settings, change }) as Promise<CreditsResult>),
    setMeta: (settings, meta) => call(settings.keyId, "setMeta", (stub) => stub.setMeta({ settings, meta }) as Promise<GuardStatus>),
    roll: (settings, secrets) => call(settings.keyId, "roll", (stub) => stub.roll({ settings, ...secrets }) as Promise<GuardStatus>),
    setOrgLimit: (settings, orgLimit) => call(settings.keyId, "setOrgLimit", (stub) => stub.setOrgLimit({ settings, orgLimit }) as Promise<GuardStatus>),
    status: (settings) => call(settings.keyId, "describe", (stub) => stub.describe(settings) as Promise<GuardStatus>),
    settle: async (keyId, requestId, charge) => {
      const [result] = await call(keyId, "settle", (stub) => stub.settleHolds({ items: [{ requestId, charge }] }) as Promise<SettleResult[]>);
      return result ?? { kind: "unknown" };
    },
    settleFromHeader: (keyId, requestId, charge, hooks) => headers.settle(keyId, { requestId, charge, fromHeader: true }, hooks),
    note: (input) => call(input.settings.keyId, "note", (stub) => stub.note(input) as Promise<void>),
    usage: (settings, query) => call(settings.keyId, "readUsage", (stub) => stub.readUsage({ settings, ...query }) as Promise<GuardUsage>),
  };
}
