/**
 * The authority on one key's mutable security state: revoked or not, its limit,
 * its sliding window. One instance per key id, so every request on a key, from
 * any isolate anywhere, is decided here, in order, by one RPC. Admin changes are
 * written before the RPC that made them returns (the output gate holds the reply
 * until the write is durable); admissions are written in batches (admission-log.ts).
 * This class is the shell: its RPC verbs, the alarm, and the wiring of the
 * modules below. Only the verbs are on its prototype, so only they are RPC.
 *
 * A reader's path through the guard, in the order a request meets it:
 * 1. The constructor (a wake): guard-room.ts holds the parts. guard-schema.ts
 *    migrates once per version; guard-state.ts reads the state row,
 *    admission-log.ts the stored batches and the window, usage-reporter.ts the
 *    usage copies, alarm-schedule.ts the alarm.
 * 2. check(): retry-dedup.ts answers a request id it has seen; GuardRoom.adopt
 *    takes the caller's newer settings (guard-state.ts adoptSettings).
 * 3. decide.ts: the verdict, a pure function of the state, the window and `now`.
 * 4. admission-log.ts holds an admission (meter.ts its hold); org-ask.ts asks the
 *    org's guard when the org has a shared limit or credits, and a refusal there
 *    takes the admission back. balance-alerts.ts raises low-balance events.
 * 5. #settle(): usage-reporter.ts counts the outcome; GuardRoom.flush writes the batch.
 * 6. settleHolds(): hold-settlement.ts closes metered requests' holds (a batch
 *    from one isolate, settle-batcher.ts).
 * 7. alarm(): guard-alarm.ts: a due scheduled revocation, expired holds,
 *    usage-reporter.ts's report to the ledger, and the storage's end.
 * Beside the request: lease() and returnLease() (lease-grant.ts, local admission) and the admin
 * verbs, each an adopt, a change and a commit (GuardRoom.change; guard-changes.ts
 * for those that recall leases or check a balance).
 */
import { DurableObject } from "cloudflare:workers";
import type { KeyMeta } from "../identity/key-meta";
import type { SettleResult } from "../metering/holds";
import type { Granularity } from "../usage/usage-book";
import { raiseAlerts } from "./balance-alerts";
import type { CreditOperation, Credits } from "./credits";
import { decide } from "./decide";
import { runAlarm } from "./guard-alarm";
import * as changes from "./guard-changes";
import { GuardRoom, type GuardRoomEnv, units } from "./guard-room";
import type { GuardState } from "./guard-state";
import type { CreditsResult, GuardCheck, GuardNote, GuardStatus, GuardUsage, GuardVerdict, KeySettings } from "./guard-types";
import { applyHeaderSettles, settleHolds } from "./hold-settlement";
import { grantLease, takeBackLease } from "./lease-grant";
import type { LeaseAnswer, LeaseAsk, LeaseReturn } from "./lease-types";
import type { NamedLimit } from "./named-limits";
import { askOrg } from "./org-ask";
import type { OrgLimit } from "./org-limit";
import type { SettleItem } from "./settle-batcher";
import { outcomeOf } from "./usage-reporter";

export { pendingCap } from "./admission-log";
export { GUARD_SCHEMA_VERSION } from "./guard-schema";

/** What a key guard reads of the Worker's environment (no more, so it need not import the Worker's Env). */
export interface KeyGuardEnv extends GuardRoomEnv {
  /** The guards themselves: a key guard asks its org's guard when the org has a shared limit. */
  KEY_GUARD: DurableObjectNamespace<KeyGuard>;
}

export class KeyGuard extends DurableObject<KeyGuardEnv> {
  /** The guard's parts (guard-room.ts); `#`, so no RPC reaches them. */
  readonly #room: GuardRoom;

  constructor(ctx: DurableObjectState, env: KeyGuardEnv) {
    super(ctx, env);
    this.#room = new GuardRoom(ctx, env);
  }

  /**
   * Test hooks, with the object in hand (runInDurableObject; the bench's BenchGuard):
   * static, so no RPC method (test/rpc-surface.test.ts). `flush` writes pending
   * admissions now; `runAlarm` does the alarm's work at a clock of the caller's.
   */
  static hooks(guard: KeyGuard): { room: GuardRoom; flush(): void; runAlarm(now: number): Promise<void> } {
    return { room: guard.#room, flush: () => guard.#room.flush(), runAlarm: (now) => runAlarm(guard.#room, guard.env.KEY_GUARD, now) };
  }

  /** Decides one request: revoked, expired, limited, or admitted (and counted). */
  check(input: GuardCheck): GuardVerdict | Promise<GuardVerdict> {
    const room = this.#room;
    const seen = room.recent.get(input.requestId);
    if (seen) return seen; // a retried RPC: answer again, consume nothing twice
    const now = Date.now();
    const state = room.adopt(input.settings, now);
    // Header settlements carried on this check (settle-batcher.ts): their holds free before the decision.
    if (input.settles !== undefined) applyHeaderSettles(room, this.env.KEY_GUARD, input.settles);
    const cost = units(input);
    const noWindow = input.noWindow === true;
    const reserved = room.leases.reserved(now, state.windowMs);
    const { verdict, spent } = decide(state, room.log.window, { consume: input.consume, cost, noWindow, secret: input.secret, reserved }, now, (t, n) =>
      room.meter.refusal(t, n),
    );
    if (verdict.kind === "exhausted" || verdict.kind === "limited") room.counters.refused++;
    if (verdict.kind !== "admitted") return this.#settle(state, input, verdict, now);
    room.counters.admitted++;
    room.lastUsedAt = now;
    room.log.admit(state, noWindow ? null : room.log.window.latest(), spent, cost);
    if (input.org !== undefined) room.org = input.org;
    if (spent !== null) raiseAlerts(room);
    room.counters.rowsWritten += room.meter.admit(now, input.requestId, cost, input.hold ? input.hold.holdMs : null);
    if (input.hold) {
      // The hold is written with the balance it took, in the admissions' batch (#settle's flushSoon; docs/metering.md):
      // one storage step for many admissions, never a hold without its balance or the reverse.
      room.holdsPeak = Math.max(room.holdsPeak, room.meter.book.open);
      // The alarm no later than this hold's expiry. Not rearm(): its scans of every kept hold, per request,
      // and an alarm moved (a storage write) each time the earliest open hold closed. An alarm that comes
      // early finds nothing due and rearms.
      void room.schedule.earlier(now + input.hold.holdMs);
    }
    const windows = room.meter.states(now);
    if (windows.length > 0) verdict.windows = windows;
    if (state.orgLimit === null && state.orgCredits === null) return this.#settle(state, input, verdict, now);
    // Admitted here; now the org's shared window and credits must agree. Remembered
    // as a promise so that a retry arriving meanwhile waits for the same answer.
    const shared = askOrg(room, this.env.KEY_GUARD, state, input, verdict).then((v) => this.#settle(state, input, v, now));
    room.recent.remember(input.requestId, shared);
    return shared;
  }

  /** Counting, flushing and the meta hand-back, once a verdict is final. */
  #settle(state: GuardState, input: GuardCheck, verdict: GuardVerdict, now: number): GuardVerdict {
    const room = this.#room;
    // A caller with an older record gets the current meta (see GuardState.meta).
    if (verdict.kind === "admitted" && state.meta !== undefined && input.settings.version < state.version) verdict.metaJson = JSON.stringify(state.meta);
    const outcome = room.reporter.counting ? outcomeOf(verdict, input.refusal) : null;
    if (outcome) room.count(now, outcome, input);
    // Written after counting, so that a flush carries this request's count with its admission.
    if (verdict.kind === "admitted") room.log.flushSoon(state.limit, state.credits, () => room.flush());
    room.recent.remember(input.requestId, verdict);
    return verdict;
  }

  /** Settles metered requests' holds with what each cost, each exactly once, in one storage step (hold-settlement.ts). */
  settleHolds(input: { items: SettleItem[] }): Promise<SettleResult[]> {
    return settleHolds(this.#room, this.env.KEY_GUARD, input.items);
  }

  /** One settlement (an isolate of the previous version during a deploy); settleHolds with one item. */
  async settleHold(input: SettleItem): Promise<SettleResult> {
    const [result] = await settleHolds(this.#room, this.env.KEY_GUARD, [input]);
    return result ?? { kind: "unknown" };
  }

  /** Counts refusals the gateway decided without asking (a KV record that already says revoked), batched by the caller; nothing is decided here. */
  note(input: GuardNote): void {
    const room = this.#room;
    if (!room.reporter.counting) return;
    const now = Date.now();
    room.adopt(input.settings, now);
    const times = Math.min(Math.max(1, Math.floor(input.count)), 1_000_000);
    room.count(now, { admitted: false, code: input.code }, { org: input.org, caller: input.caller }, times);
  }

  /** The key's usage as this guard holds it (fresh to the request), for the usage API. */
  readUsage(input: { settings: KeySettings; granularity: Granularity; from: number; to: number }): GuardUsage {
    this.#room.adopt(input.settings, Date.now());
    return this.#room.reporter.read(input.granularity, input.from, input.to);
  }

  /** A location's lease holder asks for a share of the window (lease-grant.ts). */
  lease(ask: LeaseAsk): LeaseAnswer {
    return grantLease(this.#room, ask);
  }

  /** A location's lease holder gives its lease back unasked, idle or ended (lease-grant.ts). */
  returnLease(back: LeaseReturn): void {
    takeBackLease(this.#room, back);
  }

  /** Revokes now, or schedules it (`at`, for a rotation grace period). Idempotent. */
  revoke(input: { settings: KeySettings; at: number | null }): Promise<GuardStatus> {
    return changes.revoke(this.#room, input);
  }

  /** Operator limit change: effective on the next request; the window is kept. */
  setLimit(input: { settings: KeySettings; limit: number; windowSeconds: number }): Promise<GuardStatus> {
    return changes.setLimit(this.#room, input);
  }

  /** Suspends or resumes the key from the next request, keeping its window. */
  setDisabled(input: { settings: KeySettings; disabled: boolean }): Promise<GuardStatus> {
    return changes.setDisabled(this.#room, input);
  }

  /** An admin's change to the balance (set, increment, decrement), in order with the requests around it. */
  adjustCredits(input: { settings: KeySettings; change: CreditOperation }): CreditsResult {
    return changes.adjustCredits(this.#room, input);
  }

  /** Replaces the key's metadata, handed to stale callers from the next request. */
  setMeta(input: { settings: KeySettings; meta: KeyMeta | null }): GuardStatus {
    return this.#room.change(input.settings, (s) => Object.assign(s, { meta: input.meta }));
  }

  /** A guard's whole balance replaced (an org's guard: PUT /orgs/{org}/credits); null: none. Written before this returns. */
  putCredits(input: { settings: KeySettings; credits: Credits | null }): GuardStatus {
    return this.#room.change(input.settings, (s) => {
      s.credits = input.credits;
      raiseAlerts(this.#room);
    });
  }

  /** Whether every admission also spends the org's credits (org-credits.ts); written before this returns. */
  setOrgCredits(input: { settings: KeySettings; org: string | null }): GuardStatus {
    this.#room.adopt(input.settings, Date.now()).orgCredits = input.org;
    this.#room.writeState();
    return this.#room.snapshot();
  }

  /** Every window of the key, by name (named-limits.ts); in force on the next request, each window's admissions kept. */
  setLimits(input: { settings: KeySettings; limits: NamedLimit[] }): Promise<GuardStatus> {
    return changes.setLimits(this.#room, input);
  }

  /** A new secret for the key (roll): `next` accepted from now on, `replaced` until `until`. */
  roll(input: { settings: KeySettings; replaced: string; next: string; until: number }): Promise<GuardStatus> {
    return changes.roll(this.#room, input);
  }

  /** Operator's shared org limit for this key (null: none); written before this returns. */
  setOrgLimit(input: { settings: KeySettings; orgLimit: OrgLimit | null }): GuardStatus {
    this.#room.adopt(input.settings, Date.now()).orgLimit = input.orgLimit;
    this.#room.writeState();
    return this.#room.snapshot();
  }

  /** The key's security state as the guard holds it, for the admin API. */
  describe(settings: KeySettings): GuardStatus {
    this.#room.adopt(settings, Date.now());
    return this.#room.snapshot();
  }

  override async alarm(): Promise<void> {
    this.#room.schedule.fired();
    // Due revocations, expired holds, the usage report and the storage's end (guard-alarm.ts).
    await runAlarm(this.#room, this.env.KEY_GUARD, Date.now());
  }
}
