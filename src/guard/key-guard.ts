/**
 * The authority on one key's mutable security state: revoked or not, its limit,
 * its sliding window. One instance per key id, so every request on a key, from
 * any isolate anywhere, is decided here, in order, by one RPC. Admin changes are
 * written before the RPC that made them returns (the output gate holds the reply
 * until the write is durable); admissions are written in batches (admission-log.ts).
 *
 * A reader's path through the guard, in the order a request meets it:
 * 1. The constructor (a wake): guard-schema.ts migrates once per version;
 *    guard-state.ts reads the state row, admission-log.ts the stored batches
 *    and the window, usage-reporter.ts the usage copies, alarm-schedule.ts the alarm.
 * 2. check(): retry-dedup.ts answers a request id it has seen; adopt() takes the
 *    caller's newer settings (guard-state.ts adoptSettings).
 * 3. decide.ts: the verdict, a pure function of the state, the window and `now`.
 * 4. admission-log.ts holds an admission; org-limit.ts asks the org's guard when
 *    the org has a shared limit, and a refusal there takes the admission back.
 * 5. settle(): usage-reporter.ts counts the outcome; flush() writes the batch.
 * 6. alarm(): a due scheduled revocation, and usage-reporter.ts's report to the ledger.
 */
import { DurableObject } from "cloudflare:workers";
import type { KeyMeta } from "../identity/key-meta";
import type { Closing, Hold, SettleResult } from "../metering/holds";
import { withTimeout } from "../timeout";
import type { Granularity, Outcome } from "../usage/usage-book";
import { AdmissionLog } from "./admission-log";
import { AlarmSchedule } from "./alarm-schedule";
import { adjusted, type CreditOperation, type Credits, creditAlerts, MAX_CREDITS, refilled } from "./credits";
import { decide } from "./decide";
import { openGuardSchema } from "./guard-schema";
import { adoptSettings, applyDueRevocation, applyRevoke, type GuardState, readState, statusOf, writeState } from "./guard-state";
import type { CreditsResult, GuardCheck, GuardNote, GuardStatus, GuardUsage, GuardVerdict, KeySettings } from "./guard-types";
import { rolled } from "./key-secrets";
import { LeaseDesk, type LeaseDeskEnv } from "./lease-desk";
import type { LeaseAnswer, LeaseAsk } from "./lease-types";
import { Meter } from "./meter";
import { MAIN_WINDOW, type NamedLimit, splitLimits } from "./named-limits";
import { orgCreditsSettings } from "./org-credits";
import { confirmWithOrg, ORG_GUARD_TIMEOUT_MS, type OrgLimit, orgGuardName, orgGuardSettings } from "./org-limit";
import { RecentVerdicts } from "./retry-dedup";
import { StorageEnd, type StorageEndEnv } from "./storage-end";
import { outcomeOf, UsageReporter, type UsageReporterEnv } from "./usage-reporter";

export { pendingCap } from "./admission-log";

/** The units an admission takes: a metered route's reserve, or its cost. */
const units = (input: GuardCheck) => input.hold?.reserve ?? input.cost ?? 1;

/** What the org's guard is given past a key's hold: the key's settlement or expiry always reaches it first. */
const ORG_HOLD_GRACE_MS = 60_000;

export { GUARD_SCHEMA_VERSION } from "./guard-schema";

/** What a key guard reads of the Worker's environment (no more, so it need not import the Worker's Env). */
export interface KeyGuardEnv extends UsageReporterEnv, StorageEndEnv, LeaseDeskEnv {
  /** The guards themselves: a key guard asks its org's guard when the org has a shared limit. */
  KEY_GUARD: DurableObjectNamespace<KeyGuard>;
}

export class KeyGuard extends DurableObject<KeyGuardEnv> {
  private state: GuardState | null;
  private log: AdmissionLog;
  private reporter: UsageReporter;
  private schedule: AlarmSchedule;
  private recent = new RecentVerdicts();
  private lastUsedAt: number | null;
  private counters = { rowsWritten: 0, admitted: 0, refused: 0, orgCalls: 0 };
  /** The state row exists (a key's guard writes it on admin changes only; an end needs it to survive eviction). */
  private stateStored: boolean;
  /** The storage was deleted (storage-end.ts): the next call starts a fresh guard. */
  private ended = false;
  private end: StorageEnd;
  /** Metering (meter.ts): holds and the named windows besides the main one. */
  private meter: Meter;
  private holdsPeak = 0;
  /** The key's org, as the last check named it (for low-balance events). */
  private org: string | null = null;
  /** Local admission: the leases granted to locations (lease-desk.ts). */
  private leases: LeaseDesk;

  constructor(ctx: DurableObjectState, env: KeyGuardEnv) {
    super(ctx, env);
    this.end = new StorageEnd(env);
    openGuardSchema(ctx.storage);
    this.state = readState(ctx.storage.sql);
    this.stateStored = this.state !== null;
    const stored = AdmissionLog.load(ctx.storage.sql);
    this.log = stored.log;
    this.meter = new Meter(ctx.storage.sql, this.state?.limits ? splitLimits(this.state.limits).extra : [], this.log.window.held());
    this.reporter = new UsageReporter(env, ctx.storage.sql, stored.latestUsage);
    this.lastUsedAt = stored.lastUsedAt ?? this.reporter.usage.lastUsedAt;
    this.schedule = new AlarmSchedule(ctx);
    this.leases = new LeaseDesk(ctx.storage.sql, env.LEASE_HOLDER);
    if (this.reporter.counting || this.state?.revokeAt != null || this.storageEnd() !== null || this.meter.book.open > 0) this.schedule.load();
  }

  /** After the storage ended: the tables again, and a guard that knows nothing (as a new key's). */
  private reopen(): void {
    openGuardSchema(this.ctx.storage);
    this.state = null;
    this.stateStored = false;
    this.log = AdmissionLog.load(this.ctx.storage.sql).log;
    this.meter = new Meter(this.ctx.storage.sql, [], []);
    this.reporter = new UsageReporter(this.env, this.ctx.storage.sql, null);
    this.lastUsedAt = null;
    this.schedule = new AlarmSchedule(this.ctx);
    this.recent = new RecentVerdicts();
    this.ended = false;
    this.end = new StorageEnd(this.env);
    this.leases = new LeaseDesk(this.ctx.storage.sql, this.env.LEASE_HOLDER);
  }

  /** Decides one request: revoked, expired, limited, or admitted (and counted). */
  check(input: GuardCheck): GuardVerdict | Promise<GuardVerdict> {
    const seen = this.recent.get(input.requestId);
    if (seen) return seen; // a retried RPC: answer again, consume nothing twice
    const now = Date.now();
    const state = this.adopt(input.settings, now);
    const cost = units(input);
    const noWindow = input.noWindow === true;
    const reserved = this.leases.reserved(now, state.windowMs);
    const { verdict, spent } = decide(state, this.log.window, { consume: input.consume, cost, noWindow, secret: input.secret, reserved }, now, (t, n) =>
      this.meter.refusal(t, n),
    );
    if (verdict.kind === "exhausted" || verdict.kind === "limited") this.counters.refused++;
    if (verdict.kind !== "admitted") return this.settle(state, input, verdict, now);
    this.counters.admitted++;
    this.lastUsedAt = now;
    this.log.admit(state, noWindow ? null : this.log.window.latest(), spent, cost);
    if (input.org !== undefined) this.org = input.org;
    if (spent !== null) this.raiseAlerts();
    this.counters.rowsWritten += this.meter.admit(now, input.requestId, cost, input.hold ? input.hold.holdMs : null);
    if (input.hold) {
      // A hold and the balance it took go in one storage step (docs/metering.md): never one without the other.
      this.writeState();
      this.holdsPeak = Math.max(this.holdsPeak, this.meter.book.open);
      void this.rearm();
    }
    const windows = this.meter.states(now);
    if (windows.length > 0) verdict.windows = windows;
    if (state.orgLimit === null && state.orgCredits === null) return this.settle(state, input, verdict, now);
    // Admitted here; now the org's shared window and credits must agree. Remembered
    // as a promise so that a retry arriving meanwhile waits for the same answer.
    const shared = this.askOrg(state, input, verdict).then((v) => this.settle(state, input, v, now));
    this.recent.remember(input.requestId, shared);
    return shared;
  }

  /** Asks the org's guard (org-limit.ts); a refusal or a failure takes this key's admission back, credits refunded. */
  private askOrg(state: GuardState, input: GuardCheck, verdict: GuardVerdict & { kind: "admitted" }): Promise<GuardVerdict> {
    const stamp = input.noWindow ? null : this.log.window.latest();
    const cost = units(input);
    this.counters.orgCalls++;
    const org = state.orgLimit?.org ?? (state.orgCredits as string);
    const check: GuardCheck = {
      requestId: input.requestId,
      consume: true,
      // The shared limit's settings carry its version; credits alone never replace them (org-credits.ts).
      settings: state.orgLimit !== null ? orgGuardSettings(state.orgLimit) : orgCreditsSettings(org),
      cost,
      ...(state.orgLimit === null ? { noWindow: true } : {}),
      // The org's hold outlives the key's, so the key's settlement or expiry always reaches it first.
      ...(input.hold ? { hold: { reserve: input.hold.reserve, holdMs: input.hold.holdMs + ORG_HOLD_GRACE_MS } } : {}),
    };
    // Other requests on this key may be decided while it waits: each is taken back by its own stamp.
    return confirmWithOrg(this.env.KEY_GUARD, check, verdict, () => {
      const held = this.meter.book.find(input.requestId)?.charge === null;
      this.counters.rowsWritten += this.meter.unadmit(input.requestId);
      this.log.unadmit(this.state, stamp, cost);
      // A hold was written with its balance: the refund is written the same way.
      if (held) this.writeState();
      this.counters.admitted--;
      this.counters.refused++;
    });
  }

  /**
   * Settles a metered request's hold with what it cost (docs/metering.md),
   * exactly once: a hold already closed answers its first closing and changes
   * nothing; one past its expiry is expired now, at its reserve. The balance and
   * the hold are written in one step; the org's guard, if it holds the request
   * too, is told before this answers.
   */
  async settleHold(input: { requestId: string; charge: number }): Promise<SettleResult> {
    const hold = this.meter.book.find(input.requestId);
    if (hold === undefined || this.state === null) return { kind: "unknown" };
    if (hold.charge !== null) return Meter.closedAnswer(hold);
    const now = Date.now();
    if (now >= hold.expiresAt) {
      await this.closeHold(hold, hold.reserve, "expiry", now);
      return { kind: "expired", charged: hold.charge ?? hold.reserve };
    }
    const closing = await this.closeHold(hold, input.charge, "settle", now);
    return { kind: "settled", charged: closing.charged, uncharged: closing.uncharged, repeated: false };
  }

  /** Closes an open hold against the balance (its refund, or a charge above the reserve), writes both, tells the org. */
  private async closeHold(hold: Hold, charge: number, by: "settle" | "expiry", now: number): Promise<Closing> {
    const state = this.state as GuardState;
    const credits = state.credits === null ? null : refilled(state.credits, now);
    const { closing, rows } = this.meter.close(hold, charge, credits?.remaining ?? null, by);
    if (credits !== null) state.credits = { ...credits, remaining: credits.remaining + closing.refund };
    this.raiseAlerts();
    this.writeState();
    this.counters.rowsWritten += rows;
    const org = state.orgCredits;
    if (org !== null) {
      // Should this fail, the org's own alarm charges the org's hold its reserve, ORG_HOLD_GRACE_MS later.
      const stub = this.env.KEY_GUARD.get(this.env.KEY_GUARD.idFromName(orgGuardName(org)));
      await withTimeout(Promise.resolve(stub.settleHold({ requestId: hold.id, charge })), ORG_GUARD_TIMEOUT_MS, "org guard").catch(() => undefined);
    }
    return closing;
  }

  /** Counting, flushing and the meta hand-back, once a verdict is final. */
  private settle(state: GuardState, input: GuardCheck, verdict: GuardVerdict, now: number): GuardVerdict {
    // A caller with an older record gets the current meta (see GuardState.meta).
    if (verdict.kind === "admitted" && state.meta !== undefined && input.settings.version < state.version) verdict.metaJson = JSON.stringify(state.meta);
    const outcome = this.reporter.counting ? outcomeOf(verdict, input.refusal) : null;
    if (outcome) this.count(now, outcome, input);
    // Written after counting, so that a flush carries this request's count with its admission.
    if (verdict.kind === "admitted") this.log.flushSoon(state.limit, state.credits, () => this.flush());
    this.recent.remember(input.requestId, verdict);
    return verdict;
  }

  /** Counts refusals the gateway decided without asking (a KV record that already says revoked), batched by the caller; nothing is decided here. */
  note(input: GuardNote): void {
    if (!this.reporter.counting) return;
    const now = Date.now();
    this.adopt(input.settings, now);
    const times = Math.min(Math.max(1, Math.floor(input.count)), 1_000_000);
    this.count(now, { admitted: false, code: input.code }, { org: input.org, caller: input.caller }, times);
  }

  /** The key's usage as this guard holds it (fresh to the request), for the usage API. */
  readUsage(input: { settings: KeySettings; granularity: Granularity; from: number; to: number }): GuardUsage {
    this.adopt(input.settings, Date.now());
    return this.reporter.read(input.granularity, input.from, input.to);
  }

  /** Counts one outcome; the first unreported one arms the report alarm (once per report period at most). */
  private count(now: number, outcome: Outcome, input: Pick<GuardCheck, "org" | "caller">, times = 1): void {
    const first = this.reporter.count(now, outcome, input, this.state?.keyId ?? null, times);
    if (first || this.schedule.unset) void this.rearm();
    // A refusal writes no admission, so no flush carries its count: the usage row is written
    // within a second instead (one row however many refusals), so an eviction keeps it.
    if (!outcome.admitted) {
      this.reporter.saveSoon((rows) => {
        this.counters.rowsWritten += rows;
      });
    }
  }

  /** Sets the alarm to the earliest of a scheduled revocation and the next usage report. */
  private rearm(): Promise<void> {
    const s = this.state;
    const end = this.storageEnd();
    // The reasons for an end (revoked, expiry, a limiter) must outlive an eviction: they are in the state row.
    if (end !== null && !this.stateStored) this.writeState();
    // Holds too: the earliest expiry, and the forgetting of closed ones (hold-book.ts).
    const book = this.meter.book;
    return this.schedule.set(s && !s.revoked ? s.revokeAt : null, this.reporter.nextReportAt(), end, book.nextExpiry(), book.nextPrune(this.meter.keepMs));
  }

  /** When this guard's storage ends (storage-end.ts), or null. */
  private storageEnd(): number | null {
    // Not while a hold is open: its settlement or expiry still moves money.
    if (this.meter.book.open > 0) return null;
    return this.end.at(this.state, this.lastUsedAt);
  }

  /**
   * Deletes the guard's storage, alarm included, once its purpose is over
   * (storage-end.ts); true when it did. Unreported usage goes first: the alarm's
   * report runs before this, and a guard with counts still to report waits.
   */
  private async endIfDue(now: number): Promise<boolean> {
    if (this.meter.book.open > 0) return false; // an open hold still moves money
    const settled = () => this.reporter.nextReportAt() === null;
    if (!(await this.end.due(this.state, this.lastUsedAt, this.reporter.usage.org, now, settled))) return false;
    // Admissions still pending and a usage row still to save are past use once the storage ends
    // (the counts are reported); their timers must not write into the emptied storage.
    this.log.unschedule();
    this.reporter.carried();
    await this.ctx.storage.deleteAll();
    this.ended = true;
    this.state = null;
    return true;
  }

  /** Revokes now, or schedules it (`at`, for a rotation grace period). Idempotent. */
  async revoke(input: { settings: KeySettings; at: number | null }): Promise<GuardStatus> {
    const now = Date.now();
    const state = this.adopt(input.settings, now);
    if (state.revoked) {
      await this.leases.quiet(); // a recall still under way for the first revoke
      return this.snapshot();
    }
    applyRevoke(state, input.at, now);
    const status = this.commit(state, input.settings);
    // A scheduled revocation's time, or the end of a revoked key's storage (storage-end.ts).
    await this.rearm();
    // A scheduled one needs no recall: leases never outlive revokeAt (lease()).
    if (input.at === null || input.at <= now) await this.recallLeases(state);
    return status;
  }

  /** Operator limit change: effective on the next request; the window is kept. */
  async setLimit(input: { settings: KeySettings; limit: number; windowSeconds: number }): Promise<GuardStatus> {
    this.meter.configure([], []);
    const status = this.change(input.settings, (s) => Object.assign(s, { limit: input.limit, windowMs: input.windowSeconds * 1000, limits: null }));
    if (this.state) await this.recallLeases(this.state);
    return status;
  }

  /**
   * Suspends or resumes the key from the next request, keeping its window, so an
   * enabled key comes back as it was. A stale record cannot flip it back (adoptSettings).
   */
  async setDisabled(input: { settings: KeySettings; disabled: boolean }): Promise<GuardStatus> {
    const status = this.change(input.settings, (s) => Object.assign(s, { disabled: input.disabled }));
    if (input.disabled && this.state) await this.recallLeases(this.state);
    return status;
  }

  /**
   * A location's lease holder asks for a share of the window (local admission,
   * lease-book.ts), giving back its previous lease with how it was used. The key's
   * state is checked as for a request. Credits, org credits, named windows and an
   * org's shared limit stay here: the holder forwards such a key's requests.
   */
  lease(ask: LeaseAsk): LeaseAnswer {
    const now = Date.now();
    const state = this.adopt(ask.settings, now);
    if (ask.report !== null) this.leaseUsed(this.leases.settle(ask.holder, ask.report, now, state.windowMs), ask.report.refused, ask.org, now);
    // A rolled key's secrets are judged per request (key-secrets.ts): only the guard knows them.
    if (state.secrets !== undefined) return { kind: "central" };
    const { verdict } = decide(state, this.log.window, { consume: false, cost: 1 }, now);
    if (verdict.kind !== "usable") return { kind: "refused", verdict };
    if (state.credits !== null || state.orgLimit !== null || state.orgCredits !== null || state.limits !== null) return { kind: "central" };
    const windowSeconds = Math.round(state.windowMs / 1000);
    const ends = [state.expiresAt, state.revokeAt].filter((t): t is number => t !== null);
    const result = this.leases.grant(ask.holder, now, {
      limit: state.limit,
      windowMs: state.windowMs,
      inWindow: this.log.window.count(now, state.windowMs),
      windowResetMs: verdict.resetMs,
      endsAt: ends.length === 0 ? null : Math.min(...ends),
    });
    if (!result.granted) return { kind: "refused", verdict: { kind: "limited", limit: state.limit, windowSeconds, retryAfterMs: result.retryAfterMs } };
    const { lease } = result;
    return { kind: "lease", grant: { id: lease.id, units: lease.units, ttlMs: lease.expiresAt - now, epoch: lease.epoch, limit: state.limit, windowSeconds } };
  }

  /** Counts a lease's uses and its holder's refusals as the guard counts its own. */
  private leaseUsed(used: number, refused: number, org: string | undefined, now: number): void {
    this.counters.admitted += used;
    this.counters.refused += refused;
    if (used > 0) this.lastUsedAt = now;
    if (!this.reporter.counting) return;
    const who = { ...(org !== undefined ? { org } : {}), caller: null };
    if (used > 0) this.count(now, { admitted: true }, who, used);
    if (refused > 0) this.count(now, { admitted: false, code: "RATE_LIMITED" }, who, refused);
  }

  /** Invalidates every location's lease; resolves once none can admit (lease-desk.ts). */
  private recallLeases(state: GuardState): Promise<void> {
    return this.leases.recall(state.keyId, state.windowMs, (used, refused) => this.leaseUsed(used, refused, this.reporter.usage.org ?? undefined, Date.now()));
  }

  /**
   * An admin's change to the balance (set, increment, decrement), in order with
   * the requests around it, so none is lost or counted twice. Increment and
   * decrement of an unlimited key are refused, and so is a change that would take
   * the balance over MAX_CREDITS (nothing changes).
   */
  adjustCredits(input: { settings: KeySettings; change: CreditOperation }): CreditsResult {
    const now = Date.now();
    const state = this.adopt(input.settings, now);
    if (state.credits === null && input.change.operation !== "set") return { ok: false, reason: "unlimited" };
    const next = adjusted(state.credits, input.change, now);
    if (next !== null && next.remaining > MAX_CREDITS)
      return { ok: false, reason: "over_cap", remaining: state.credits === null ? 0 : refilled(state.credits, now).remaining };
    state.credits = next;
    this.raiseAlerts();
    return { ok: true, status: this.commit(state, input.settings) };
  }

  /** Replaces the key's metadata, handed to stale callers from the next request. */
  setMeta(input: { settings: KeySettings; meta: KeyMeta | null }): GuardStatus {
    return this.change(input.settings, (s) => Object.assign(s, { meta: input.meta }));
  }

  /** A guard's whole balance replaced (an org's guard: PUT /orgs/{org}/credits); null: none. Written before this returns. */
  putCredits(input: { settings: KeySettings; credits: Credits | null }): GuardStatus {
    return this.change(input.settings, (s) => {
      s.credits = input.credits;
      this.raiseAlerts();
    });
  }

  /**
   * Raises the low-balance events the balance calls for (credits.ts creditAlerts),
   * once per crossing: the marks go in the balance (written with its next write),
   * the events to the org's ledger, which delivers them to the org's webhook.
   * Off the caller's path (not awaited); a ledger that cannot be reached loses
   * the event, the mark stays (docs/metering.md).
   */
  private raiseAlerts(): void {
    const s = this.state;
    if (s?.credits == null) return;
    const { credits, alerts } = creditAlerts(s.credits);
    s.credits = credits;
    if (alerts.length === 0) return;
    const orgGuard = s.keyId.startsWith("org:");
    const org = orgGuard ? s.keyId.slice(4) : (this.org ?? this.reporter.usage.org);
    if (org === null) return;
    const ledger = this.env.ORG_LEDGER.get(this.env.ORG_LEDGER.idFromName(org));
    for (const type of alerts) {
      const data = { keyId: orgGuard ? "*" : s.keyId, scope: orgGuard ? "org" : "key", remaining: credits.remaining, alertBelow: credits.alertBelow ?? null };
      void withTimeout(Promise.resolve(ledger.enqueueEvent(type, data)), ORG_GUARD_TIMEOUT_MS, "org ledger").catch(() => undefined);
    }
  }

  /** Whether every admission also spends the org's credits (org-credits.ts); written before this returns. */
  setOrgCredits(input: { settings: KeySettings; org: string | null }): GuardStatus {
    this.adopt(input.settings, Date.now()).orgCredits = input.org;
    this.writeState();
    return this.snapshot();
  }

  /** Every window of the key, by name (named-limits.ts); in force on the next request, each window's admissions kept. */
  async setLimits(input: { settings: KeySettings; limits: NamedLimit[] }): Promise<GuardStatus> {
    const { main, extra } = splitLimits(input.limits);
    const status = this.change(input.settings, (s) =>
      Object.assign(s, {
        limit: main.limit,
        windowMs: main.windowSeconds * 1000,
        limits: extra.length === 0 && main.name === MAIN_WINDOW ? null : input.limits,
      }),
    );
    this.meter.configure(extra, this.log.window.held());
    // Every location's lease was granted under the old limits (lease-desk.ts).
    if (this.state) await this.recallLeases(this.state);
    return { ...status, ...(this.state?.limits ? { limits: this.state.limits } : {}) };
  }

  /**
   * A new secret for the key (roll): `next` is accepted from now on; `replaced`
   * until `until` (its grace), then refused like a revoked key. Written before
   * this returns, so the very next request anywhere meets it.
   */
  async roll(input: { settings: KeySettings; replaced: string; next: string; until: number }): Promise<GuardStatus> {
    const now = Date.now();
    const status = this.change(input.settings, (s) => {
      s.secrets = rolled(s.secrets, input.replaced, input.next, input.until, now);
    });
    // A rolled key is admitted centrally (lease()): leases granted before the roll end now.
    if (this.state) await this.recallLeases(this.state);
    return status;
  }

  /** Operator's shared org limit for this key (null: none); written before this returns. */
  setOrgLimit(input: { settings: KeySettings; orgLimit: OrgLimit | null }): GuardStatus {
    this.adopt(input.settings, Date.now()).orgLimit = input.orgLimit;
    this.writeState();
    return this.snapshot();
  }

  /** The key's security state as the guard holds it, for the admin API. */
  describe(settings: KeySettings): GuardStatus {
    this.adopt(settings, Date.now());
    return this.snapshot();
  }

  /** An admin change: applied to the adopted state, then committed. */
  private change(settings: KeySettings, apply: (state: GuardState) => void): GuardStatus {
    const state = this.adopt(settings, Date.now());
    apply(state);
    return this.commit(state, settings);
  }

  /** Ends an admin change: takes the caller's version if newer, and writes the state before answering. */
  private commit(state: GuardState, settings: KeySettings): GuardStatus {
    state.version = Math.max(state.version, settings.version);
    this.writeState();
    return this.snapshot();
  }

  private snapshot(): GuardStatus {
    if (!this.state) throw new Error("guard has no state yet");
    const now = Date.now();
    const live = { lastUsedAt: this.lastUsedAt, inWindow: this.log.window.count(now, this.state.windowMs), pending: this.log.pendingCount };
    const metering = {
      holdsOpen: this.meter.book.open,
      holdsPeak: this.holdsPeak,
      holds: this.meter.book.view(),
      orgCredits: this.state.orgCredits,
      ...(this.state.limits ? { limits: this.state.limits } : {}),
    };
    return { ...statusOf(this.state, { ...live, ...this.counters }, now), ...metering };
  }

  /** Writes pending admissions now (also run by a timer, and once pendingCap(limit) are waiting). */
  flush(): void {
    this.log.unschedule();
    const state = this.state;
    if (!state || this.log.pendingCount === 0) return;
    // The balance goes with its admissions: a crash forgets both, never one alone.
    if (this.log.creditsDirty) this.writeState();
    // Stamps are kept as long as the longest requests window needs them (a wake rebuilds it from them).
    this.counters.rowsWritten += this.log.write(this.ctx.storage.sql, Math.max(state.windowMs, this.meter.requestsMs), () =>
      this.reporter.counting ? this.reporter.snapshot() : null,
    );
    // The row just written holds every count so far, refusals included.
    if (this.reporter.counting) this.reporter.carried();
  }

  override async alarm(): Promise<void> {
    this.schedule.fired();
    await this.runAlarm(Date.now());
  }

  /**
   * The alarm's work at `now`: applies a scheduled revocation that is due, and
   * reports usage when a report is due (never more than once a REPORT_PERIOD_MS).
   * alarm() passes the clock; tests pass a fake one.
   */
  async runAlarm(now: number): Promise<void> {
    if (this.ended) return;
    if (applyDueRevocation(this.state, now)) this.writeState();
    // Holds never settled are charged their reserve; closed ones past their keeping are forgotten.
    for (const hold of this.meter.book.due(now)) await this.closeHold(hold, hold.reserve, "expiry", now);
    this.counters.rowsWritten += this.meter.book.prune(this.ctx.storage.sql, now, this.meter.keepMs);
    // Requests may be decided while the report is on its way; they count into the next one.
    this.counters.rowsWritten += await this.reporter.reportIfDue(now);
    if (await this.endIfDue(now)) return;
    await this.rearm();
  }

  /** The caller's settings where newer than ours (guard-state.ts); a revocation seen anywhere is written at once. */
  private adopt(settings: KeySettings, now: number): GuardState {
    if (this.ended) this.reopen();
    const { state, revokedNow } = adoptSettings(this.state, settings, now);
    this.state = state;
    if (revokedNow) {
      this.writeState();
      void this.rearm(); // its storage's end (storage-end.ts)
      void this.recallLeases(state);
    }
    return state;
  }

  private writeState(): void {
    if (!this.state) return;
    this.counters.rowsWritten += writeState(this.ctx.storage.sql, this.state);
    this.stateStored = true;
    this.log.stateWritten();
  }
}
