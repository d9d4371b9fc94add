/**
 * One key guard's live parts, and the bookkeeping that every verb of the guard
 * shares (key-guard.ts is the Durable Object around it): the state row
 * (guard-state.ts), the admission log and its window (admission-log.ts), metering
 * (meter.ts), usage counts (usage-reporter.ts), the alarm (alarm-schedule.ts),
 * the leases (lease-desk.ts) and the storage's end (storage-end.ts).
 *
 * One room lives as long as its object. When the storage ends, reopen() empties
 * it in place, so a verb that holds the room across an await reads the same
 * parts as the object does.
 */
import type { Outcome } from "../usage/usage-book";
import { AdmissionLog, FLUSH_DELAY_MS, pendingCap } from "./admission-log";
import { AlarmSchedule } from "./alarm-schedule";
import { openGuardSchema, wakeRead } from "./guard-schema";
import { adoptSettings, type GuardState, stateOf, statusOf, writeState } from "./guard-state";
import type { GuardCheck, GuardStatus, KeySettings } from "./guard-types";
import type { Young } from "./hold-book";
import { LeaseDesk, type LeaseDeskEnv } from "./lease-desk";
import { Meter } from "./meter";
import { splitLimits } from "./named-limits";
import { RecentVerdicts } from "./retry-dedup";
import { StorageEnd, type StorageEndEnv } from "./storage-end";
import { UsageReporter, type UsageReporterEnv } from "./usage-reporter";

/** The units an admission takes: a metered route's reserve, or its cost. */
export const units = (input: GuardCheck) => input.hold?.reserve ?? input.cost ?? 1;

/** A stored text column, or null. */
const textOf = (value: SqlStorageValue | undefined): string | null => (value === null || value === undefined ? null : String(value));

/** What a guard's room reads of the Worker's environment. */
export interface GuardRoomEnv extends UsageReporterEnv, StorageEndEnv, LeaseDeskEnv {}

export class GuardRoom {
  readonly ctx: DurableObjectState;
  readonly env: GuardRoomEnv;
  state: GuardState | null;
  log: AdmissionLog;
  reporter: UsageReporter;
  schedule: AlarmSchedule;
  recent = new RecentVerdicts();
  lastUsedAt: number | null;
  counters = { rowsWritten: 0, admitted: 0, refused: 0, orgCalls: 0 };
  /** The state row exists (a key's guard writes it on admin changes only; an end needs it to survive eviction). */
  stateStored: boolean;
  /** The storage was deleted (storage-end.ts): the next call starts a fresh guard. */
  ended = false;
  end: StorageEnd;
  /** Metering (meter.ts): holds and the named windows besides the main one. */
  meter: Meter;
  holdsPeak = 0;
  /** The next batch after one that left young holds unwritten (writeState). */
  private youngTimer: ReturnType<typeof setTimeout> | null = null;
  /** The key's org, as the last check named it (for low-balance events). */
  org: string | null = null;
  /** The alarm is to be set by the next flush, with the admission it writes (count). */
  private rearmWithFlush = false;
  /** Local admission: the leases granted to locations (lease-desk.ts). */
  leases: LeaseDesk;

  /**
   * A wake: the tables migrated once per version, then every part read from storage, in two
   * statements (guard-schema.ts wakeRead: the one-row tables; then the admissions), and the
   * holds only when some are kept.
   */
  constructor(ctx: DurableObjectState, env: GuardRoomEnv) {
    this.ctx = ctx;
    this.env = env;
    this.end = new StorageEnd(env);
    const row = wakeRead(ctx.storage);
    this.state = stateOf(row);
    this.stateStored = this.state !== null;
    const stored = AdmissionLog.load(ctx.storage.sql);
    this.log = stored.log;
    const limits = this.state?.limits ? splitLimits(this.state.limits).extra : [];
    this.meter = new Meter(ctx.storage.sql, limits, this.log.window.held(), row.has_holds === 1);
    this.reporter = new UsageReporter(env, ctx.storage.sql, stored.latestUsage, textOf(row.usage_data));
    this.lastUsedAt = stored.lastUsedAt ?? this.reporter.usage.lastUsedAt;
    this.schedule = new AlarmSchedule(ctx);
    this.leases = new LeaseDesk(ctx.storage.sql, env.LEASE_HOLDER, textOf(row.lease_book));
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

  /** The caller's settings where newer than ours (guard-state.ts); a revocation seen anywhere is written at once. */
  adopt(settings: KeySettings, now: number): GuardState {
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

  /**
   * Writes the state row, and with it every hold not yet written: the balance never goes to storage without the holds it reflects.
   * `young`: open holds left for the next batch (flush), written out of the balance with their reserves.
   */
  writeState(young: Young | null = null): void {
    if (!this.state) return;
    const sql = this.ctx.storage.sql;
    const credits = this.state.credits;
    const left = young !== null && young.units > 0 && credits !== null;
    const state = left ? { ...this.state, credits: { ...credits, remaining: credits.remaining + young.units } } : this.state;
    this.counters.rowsWritten += writeState(sql, state) + this.meter.book.writePending(sql, left ? young.ids : undefined);
    this.stateStored = true;
    this.log.stateWritten();
    if (!left) return;
    // The balance written is not the one held: the next batch writes it again, within FLUSH_DELAY_MS.
    this.log.creditsDirty = true;
    this.youngTimer ??= setTimeout(() => {
      this.youngTimer = null;
      this.flush();
    }, FLUSH_DELAY_MS);
  }

  /** An admin change: applied to the adopted state, then committed. */
  change(settings: KeySettings, apply: (state: GuardState) => void): GuardStatus {
    const state = this.adopt(settings, Date.now());
    apply(state);
    return this.commit(state, settings);
  }

  /** Ends an admin change: takes the caller's version if newer, and writes the state before answering. */
  commit(state: GuardState, settings: KeySettings): GuardStatus {
    state.version = Math.max(state.version, settings.version);
    this.writeState();
    return this.snapshot();
  }

  snapshot(): GuardStatus {
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

  /**
   * Counts one outcome; the first unreported one arms the report alarm (once per
   * report period at most), or, on a key quiet longer than its report period,
   * sends the report from this request (usage-reporter.ts reportsFromRequest).
   * `fromRequest` false: counts a lease holder handed back, which no write of
   * the guard's own follows to carry the report's mark.
   */
  count(now: number, outcome: Outcome, input: Pick<GuardCheck, "org" | "caller">, times = 1, fromRequest = true): void {
    const first = this.reporter.count(now, outcome, input, this.state?.keyId ?? null, times);
    if (first && fromRequest && this.reporter.reportsFromRequest(now)) {
      // Not awaited: the verdict goes first. A failure saves the counts as unreported and arms the retry.
      void this.reporter.reportFromRequest(now, () => {
        if (this.ended) return;
        this.counters.rowsWritten += this.reporter.save();
        void this.rearm();
      });
    }
    if (first || this.schedule.unset) {
      // An admission's flush follows (key-guard.ts #settle): the alarm is set with it, after the verdict and in its
      // commit, instead of in a commit of its own that the reply waited for (a quiet key's every request, after a report).
      if (outcome.admitted && fromRequest && this.log.pendingCount > 0) this.rearmWithFlush = true;
      else void this.rearm();
    }
    // A refusal writes no admission, so no flush carries its count: the usage row is written
    // within a second instead (one row however many refusals), so an eviction keeps it.
    if (!outcome.admitted) {
      this.reporter.saveSoon((rows) => {
        this.counters.rowsWritten += rows;
      });
    }
  }

  /**
   * Writes pending admissions now (also run by a timer, and once pendingCap(limit) are waiting),
   * with the balance they spent and the holds they took; an org's guard asked for credits only
   * has spends and holds but no admissions to write.
   */
  flush(now = Date.now()): void {
    this.log.unschedule();
    if (this.rearmWithFlush) {
      this.rearmWithFlush = false;
      void this.rearm();
    }
    const state = this.state;
    if (!state || (this.log.pendingCount === 0 && !this.log.creditsDirty && this.meter.book.pending === 0)) return;
    // The balance goes with its admissions and holds: a crash forgets all of them, never one alone. Holds
    // taken within FLUSH_DELAY_MS and still open (up to pendingCap of the balance) wait for the next batch,
    // their reserves out of the balance written: most close by then and need no row (docs/metering.md).
    const young = this.meter.charging || state.credits === null ? null : this.meter.book.young(now - FLUSH_DELAY_MS, pendingCap(state.credits.remaining));
    if (this.log.creditsDirty) this.writeState(young);
    else this.counters.rowsWritten += this.meter.book.writePending(this.ctx.storage.sql);
    // Stamps are kept as long as the longest requests window needs them (a wake rebuilds it from them).
    const rows = this.log.write(this.ctx.storage.sql, Math.max(state.windowMs, this.meter.requestsMs), () =>
      this.reporter.counting ? this.reporter.snapshot() : null,
    );
    this.counters.rowsWritten += rows;
    // The row just written holds every count so far, refusals included.
    if (rows > 0 && this.reporter.counting) this.reporter.carried();
  }

  /** Counts a lease's uses and its holder's refusals as the guard counts its own. */
  leaseUsed(used: number, refused: number, org: string | undefined, now: number): void {
    this.counters.admitted += used;
    this.counters.refused += refused;
    if (used > 0) this.lastUsedAt = now;
    if (!this.reporter.counting) return;
    const who = { ...(org !== undefined ? { org } : {}), caller: null };
    if (used > 0) this.count(now, { admitted: true }, who, used, false);
    if (refused > 0) this.count(now, { admitted: false, code: "RATE_LIMITED" }, who, refused, false);
  }

  /** Invalidates every location's lease; resolves once none can admit (lease-desk.ts). */
  recallLeases(state: GuardState): Promise<void> {
    return this.leases.recall(state.keyId, state.windowMs, (used, refused) => this.leaseUsed(used, refused, this.reporter.usage.org ?? undefined, Date.now()));
  }

  /** Sets the alarm to the earliest of a scheduled revocation and the next usage report. */
  rearm(): Promise<void> {
    const s = this.state;
    const end = this.storageEnd();
    // The reasons for an end (revoked, expiry, a limiter) must outlive an eviction: they are in the state row.
    if (end !== null && !this.stateStored) this.writeState();
    // Holds too: the earliest expiry, and the forgetting of closed ones (hold-book.ts).
    const book = this.meter.book;
    return this.schedule.set(s && !s.revoked ? s.revokeAt : null, this.reporter.nextReportAt(), end, book.nextExpiry(), book.nextPrune(this.meter.keepMs));
  }

  /** When this guard's storage ends (storage-end.ts), or null. */
  storageEnd(): number | null {
    // Not while a hold is open: its settlement or expiry still moves money.
    if (this.meter.book.open > 0) return null;
    return this.end.at(this.state, this.lastUsedAt);
  }
}
