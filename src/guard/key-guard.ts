import { DurableObject } from "cloudflare:workers";
import type { KeyMeta } from "../identity/key-meta";
import { isRevokedAt, revokedAtAsOf } from "../keys/key-model";
import type { OrgLedger } from "../ledger/org-ledger";
import { addColumn } from "../storage/add-column";
import { migrateOnce } from "../storage/schema-version";
import { withTimeout } from "../timeout";
import { type AnomalyFinding, type AnomalyThresholds, DEFAULT_THRESHOLDS, parseThresholds } from "../usage/anomaly-rules";
import {
  bucketsOf,
  emptyUsage,
  type Granularity,
  locationsOf,
  markReported,
  type Outcome,
  parseUsage,
  pruneUsage,
  recordUsage,
  type UsageState,
} from "../usage/usage-book";
import { buildReport, nextReportAt, REPORT_PERIOD_MS } from "../usage/usage-report";
import { adjusted, type CreditOperation, type Credits, nextRefillAt, refilled, trySpend } from "./credits";
import type { CreditState, GuardCheck, GuardNote, GuardStatus, GuardUsage, GuardVerdict, KeySettings } from "./guard-types";
import { ORG_GUARD_TIMEOUT_MS, type OrgLimit, orgGuardName, orgGuardSettings } from "./org-limit";
import { SlidingWindow } from "./sliding-window";

/**
 * How many admissions may wait in memory before they are written: about 5% of
 * the limit (at least 1). An abrupt crash (not an eviction after a flush) can
 * therefore forget at most pendingCap(limit) - 1 of the latest admissions, so
 * the window over-admits by under 5% of its limit for at most one window, and
 * nothing older than about FLUSH_DELAY_MS. A small limit is written almost at
 * once (limit 60: every 3 admissions); a large one mostly by the timer, so a hot
 * key costs a few writes a second rather than one per batch of 16.
 */
export function pendingCap(limit: number): number {
  return Math.max(1, Math.ceil(limit / 20));
}
/** A usage report that the ledger has not taken within this is retried later. */
const REPORT_TIMEOUT_MS = 5_000;
/** A pending admission is written at most this long after it happened. */
export const FLUSH_DELAY_MS = 250;
const DEDUPE_ENTRIES = 1024;

interface State {
  keyId: string;
  version: number;
  revoked: boolean;
  revokedAt: number | null;
  revokeAt: number | null;
  limit: number;
  windowMs: number;
  expiresAt: number | null;
  disabled: boolean;
  /** The balance (null: unlimited). Decided here with the window, in the same step. */
  credits: Credits | null;
  /**
   * The key's metadata as last set through this guard (undefined: never set
   * here, so the caller's record has it right). Handed back to callers whose
   * record is older than this state, so a change shows on the next request.
   */
  meta?: KeyMeta | null;
  /** The org's shared limit, when the operator set one (src/guard/org-limit.ts). */
  orgLimit: OrgLimit | null;
}

/** What a credits change answers: the new state, or why it could not apply. */
export type CreditsResult = { ok: true; status: GuardStatus } | { ok: false; reason: "unlimited" };

const creditState = (c: Credits): CreditState => ({ remaining: c.remaining, refillAmount: c.refill?.amount ?? null, nextRefillAt: nextRefillAt(c) });

/**
 * The authority on one key's mutable security state: revoked or not, its limit,
 * its sliding window. One instance per key id, so every request on a key, from
 * any isolate anywhere, is decided here, in order, by one RPC.
 *
 * Durability: revocation and limit changes are written before the RPC that made
 * them returns (the output gate holds the reply until the write is durable).
 * Admissions are kept in memory and written in batches, off most requests'
 * critical path; see pendingCap for the bound on what a crash forgets.
 */
/** How a verdict is counted: refusals by their code; a usable key refused by the gateway by the gateway's code. */
const ADMITTED: Outcome = { admitted: true };
function outcomeOf(verdict: GuardVerdict, refusal: string | undefined): Outcome | null {
  switch (verdict.kind) {
    case "admitted":
      return ADMITTED;
    case "limited":
      return { admitted: false, code: "RATE_LIMITED" };
    case "revoked":
      return { admitted: false, code: "KEY_REVOKED" };
    case "expired":
      return { admitted: false, code: "KEY_EXPIRED" };
    case "disabled":
      return { admitted: false, code: "KEY_DISABLED" };
    case "exhausted":
      return { admitted: false, code: "QUOTA_EXCEEDED" };
    case "usable":
      return refusal === undefined ? null : { admitted: false, code: refusal };
  }
}

/** What a key guard reads of the Worker's environment (no more, so it need not import the Worker's Env). */
export interface KeyGuardEnv {
  /** Its org's ledger, for the usage roll-up. */
  ORG_LEDGER: DurableObjectNamespace<OrgLedger>;
  /** The guards themselves: a key guard asks its org's guard when the org has a shared limit. */
  KEY_GUARD: DurableObjectNamespace<KeyGuard>;
  USAGE_COUNTING?: unknown;
  USAGE_ANOMALY_THRESHOLDS?: unknown;
}

/**
 * The guard's tables, created or brought up to date (idempotent). Bump
 * GUARD_SCHEMA_VERSION with any change here: a wake runs this only when the
 * stored version is older (src/storage/schema-version.ts).
 */
export const GUARD_SCHEMA_VERSION = 1;
function migrateGuard(sql: SqlStorage): void {
  sql.exec(`CREATE TABLE IF NOT EXISTS guard_state (
    id INTEGER PRIMARY KEY CHECK (id = 1), key_id TEXT NOT NULL, version INTEGER NOT NULL,
    revoked INTEGER NOT NULL, revoked_at INTEGER, revoke_at INTEGER, limit_n INTEGER NOT NULL,
    window_ms INTEGER NOT NULL, expires_at INTEGER)`);
  addColumn(sql, "guard_state", "disabled", "INTEGER NOT NULL DEFAULT 0");
  // NULL: unlimited. JSON of Credits otherwise.
  addColumn(sql, "guard_state", "credits", "TEXT");
  // NULL: never set here; otherwise JSON (an object, or null once cleared).
  addColumn(sql, "guard_state", "meta", "TEXT");
  addColumn(sql, "guard_state", "org_limit", "TEXT");
  // A pool of rows reused once their batch has left the window, so that a flush
  // writes exactly one row (an update, or an insert while the pool grows).
  sql.exec("CREATE TABLE IF NOT EXISTS admissions (slot INTEGER PRIMARY KEY, newest INTEGER NOT NULL, stamps TEXT NOT NULL)");
  // Usage rides in the row a flush writes anyway (no extra row per admission);
  // the one-row usage table is written by the report alarm, for refusal-only traffic.
  addColumn(sql, "admissions", "usage", "TEXT");
  sql.exec("CREATE TABLE IF NOT EXISTS usage (id INTEGER PRIMARY KEY CHECK (id = 1), data TEXT NOT NULL)");
}

export class KeyGuard extends DurableObject<KeyGuardEnv> {
  private state: State | null = null;
  private window = new SlidingWindow();
  private pending: number[] = [];
  /** Rows of the admissions table, oldest batch first. */
  private slots: { slot: number; newest: number }[] = [];
  private lastUsedAt: number | null = null;
  private flushTimer: ReturnType<typeof setTimeout> | null = null;
  private recent = new Map<string, GuardVerdict | Promise<GuardVerdict>>();
  private counters = { rowsWritten: 0, admitted: 0, refused: 0, orgCalls: 0 };
  /** Usage counts (docs/usage.md): kept in memory, written inside the admissions row each flush writes anyway. */
  private usage: UsageState = emptyUsage();
  private readonly counting: boolean;
  /** Credits spent (or refilled) since the state row was last written. */
  private unwrittenSpend = 0;
  private creditsDirty = false;
  private readonly thresholds: AnomalyThresholds;
  /** The stored alarm's time (read on wake, then as this instance sets it); null: none. */
  private alarmAt: number | null = null;
  /** After a failed report: not before this time, and its findings go with the next one. */
  private retry: { at: number; anomalies: AnomalyFinding[] } | null = null;

  constructor(ctx: DurableObjectState, env: KeyGuardEnv) {
    super(ctx, env);
    const sql = ctx.storage.sql;
    migrateOnce(ctx.storage, GUARD_SCHEMA_VERSION, () => migrateGuard(sql));
    this.counting = env.USAGE_COUNTING !== "off";
    let thresholds = DEFAULT_THRESHOLDS;
    try {
      thresholds = parseThresholds(env.USAGE_ANOMALY_THRESHOLDS);
    } catch {
      // The Worker refuses to start with a bad value (config.ts says which); the guard keeps the defaults.
    }
    this.thresholds = thresholds;
    const row = sql.exec("SELECT * FROM guard_state WHERE id = 1").toArray()[0];
    if (row) {
      this.state = {
        keyId: String(row.key_id),
        version: Number(row.version),
        revoked: row.revoked === 1,
        revokedAt: row.revoked_at === null ? null : Number(row.revoked_at),
        revokeAt: row.revoke_at === null ? null : Number(row.revoke_at),
        limit: Number(row.limit_n),
        windowMs: Number(row.window_ms),
        expiresAt: row.expires_at === null ? null : Number(row.expires_at),
        disabled: row.disabled === 1,
        credits: row.credits === null || row.credits === undefined ? null : (JSON.parse(String(row.credits)) as Credits),
        ...(row.meta === null || row.meta === undefined ? {} : { meta: JSON.parse(String(row.meta)) as KeyMeta | null }),
        orgLimit: row.org_limit === null || row.org_limit === undefined ? null : (JSON.parse(String(row.org_limit)) as OrgLimit),
      };
    }
    // The window length may only be learnt with the first request (the state row is
    // written on admin changes only), so every stored stamp is loaded; the window
    // drops those older than its length on first use.
    const stamps: number[] = [];
    for (const batch of sql.exec("SELECT slot, newest, stamps FROM admissions ORDER BY newest")) {
      const newest = Number(batch.newest);
      this.slots.push({ slot: Number(batch.slot), newest });
      for (const t of JSON.parse(String(batch.stamps)) as number[]) stamps.push(t);
      this.lastUsedAt = Math.max(this.lastUsedAt ?? 0, newest);
    }
    this.window = new SlidingWindow(stamps);
    // Of the rows' usage copies only the latest flush's can be the newest (a flush
    // writes the row of its batch's newest admission, later than any earlier
    // batch's), so only it is read and parsed, not one copy per row. Should the
    // clock step back, an older copy may win: usage is informational, never a decision.
    const latest = this.slots.at(-1);
    const latestRow = latest === undefined ? undefined : sql.exec("SELECT usage FROM admissions WHERE slot = ?", latest.slot).toArray()[0];
    const copies: (UsageState | null)[] = [parseUsage(latestRow?.usage == null ? null : String(latestRow.usage))];
    const saved = sql.exec("SELECT data FROM usage WHERE id = 1").toArray()[0];
    copies.push(parseUsage(saved ? String(saved.data) : null));
    // The newest copy wins: the admissions rows and the usage row are written at different times.
    for (const copy of copies) if (copy && copy.savedAt >= this.usage.savedAt) this.usage = copy;
    this.lastUsedAt ??= this.usage.lastUsedAt;
    // The stored alarm, if any: without it a guard woken after an eviction set its
    // alarm again on its first counted request even when the same alarm was set
    // (a storage write per request for a key used less often than evictions).
    if (this.counting || this.state?.revokeAt != null) {
      void ctx.blockConcurrencyWhile(async () => {
        this.alarmAt = await ctx.storage.getAlarm();
      });
    }
  }

  /** Decides one request: revoked, expired, limited, or admitted (and counted). */
  check(input: GuardCheck): GuardVerdict | Promise<GuardVerdict> {
    const seen = this.recent.get(input.requestId);
    if (seen) return seen; // a retried RPC: answer again, consume nothing twice
    const now = Date.now();
    const state = this.adopt(input.settings, now);
    const verdict = this.decide(state, input.consume, input.cost ?? 1, now);
    if (verdict.kind === "admitted" && state.orgLimit !== null) {
      // Admitted here; now the org's shared window must agree. Remembered as a
      // promise so that a retry arriving meanwhile waits for the same answer.
      const shared = this.askOrg(state.orgLimit, input, verdict).then((v) => this.settle(state, input, v, now));
      this.remember(input.requestId, shared);
      return shared;
    }
    return this.settle(state, input, verdict, now);
  }

  /**
   * Asks the org's guard to admit a request this key has admitted. If it
   * refuses (or cannot answer), the key's admission is taken back, credits
   * refunded, so that a refused request consumes nothing here either.
   */
  private async askOrg(orgLimit: OrgLimit, input: GuardCheck, verdict: GuardVerdict & { kind: "admitted" }): Promise<GuardVerdict> {
    const stamp = this.window.latest();
    const cost = input.cost ?? 1;
    this.counters.orgCalls++;
    const stub = this.env.KEY_GUARD.get(this.env.KEY_GUARD.idFromName(orgGuardName(orgLimit.org)));
    let answer: GuardVerdict;
    try {
      answer = (await withTimeout(
        Promise.resolve(stub.check({ requestId: input.requestId, consume: true, settings: orgGuardSettings(orgLimit) })),
        ORG_GUARD_TIMEOUT_MS,
        "org limit",
      )) as GuardVerdict;
    } catch (error) {
      this.unadmit(stamp, cost);
      throw error; // fail closed: the gateway answers 503
    }
    if (answer.kind === "admitted") return verdict;
    this.unadmit(stamp, cost);
    if (answer.kind !== "limited") throw new Error(`org guard answered ${answer.kind}`);
    return { kind: "limited", scope: "org", limit: answer.limit, windowSeconds: answer.windowSeconds, retryAfterMs: answer.retryAfterMs };
  }

  /** Takes back an admission the org's limit refused (see askOrg). */
  private unadmit(stamp: number, cost: number): void {
    this.window.unadmit(stamp);
    const i = this.pending.lastIndexOf(stamp);
    if (i >= 0) this.pending.splice(i, 1);
    const state = this.state;
    if (state?.credits) {
      state.credits = { ...state.credits, remaining: state.credits.remaining + cost };
      this.unwrittenSpend = Math.max(0, this.unwrittenSpend - cost);
    }
    this.counters.admitted--;
    this.counters.refused++;
  }

  /** Operator's shared org limit for this key (null: none); written before this returns. */
  setOrgLimit(input: { settings: KeySettings; orgLimit: OrgLimit | null }): GuardStatus {
    const state = this.adopt(input.settings, Date.now());
    state.orgLimit = input.orgLimit;
    this.writeState();
    return this.snapshot();
  }

  private remember(requestId: string, verdict: GuardVerdict | Promise<GuardVerdict>): void {
    this.recent.set(requestId, verdict);
    if (this.recent.size > DEDUPE_ENTRIES) this.recent.delete(this.recent.keys().next().value as string);
  }

  /** Counting, flushing and the meta hand-back, once a verdict is final. */
  private settle(state: State, input: GuardCheck, verdict: GuardVerdict, now: number): GuardVerdict {
    // A caller with an older record gets the current meta (see State.meta).
    if (verdict.kind === "admitted" && state.meta !== undefined && input.settings.version < state.version) verdict.metaJson = JSON.stringify(state.meta);
    if (this.counting) {
      const outcome = outcomeOf(verdict, input.refusal);
      if (outcome) this.count(now, outcome, input);
    }
    // Written after counting, so that a flush carries this request's count with its admission.
    if (verdict.kind === "admitted") {
      // Written once about 5% of the limit, or of the balance, is waiting (see pendingCap).
      if (this.pending.length >= pendingCap(state.limit) || this.creditsDue(state)) this.flush();
      else if (this.flushTimer === null) this.flushTimer = setTimeout(() => this.flush(), FLUSH_DELAY_MS);
    }
    this.remember(input.requestId, verdict);
    return verdict;
  }

  /**
   * Counts refusals the gateway decided without asking (a KV record that already
   * says revoked), batched by the caller; nothing is decided here.
   */
  note(input: GuardNote): void {
    if (!this.counting) return;
    const now = Date.now();
    this.adopt(input.settings, now);
    const times = Math.min(Math.max(1, Math.floor(input.count)), 1_000_000);
    this.count(now, { admitted: false, code: input.code }, { org: input.org, caller: input.caller }, times);
  }

  /** The key's usage as this guard holds it (fresh to the request), for the usage API. */
  readUsage(input: { settings: KeySettings; granularity: Granularity; from: number; to: number }): GuardUsage {
    this.adopt(input.settings, Date.now());
    pruneUsage(this.usage, Date.now());
    return { buckets: bucketsOf(this.usage, input.granularity, input.from, input.to), lastUsedAt: this.usage.lastUsedAt, locations: locationsOf(this.usage) };
  }

  /** Counts one outcome in the key's usage (memory only: written by the next flush or report). */
  private count(now: number, outcome: Outcome, input: Pick<GuardCheck, "org" | "caller">, times = 1): void {
    if (input.org !== undefined) this.usage.org = input.org;
    this.usage.keyId ??= this.state?.keyId ?? null;
    const wasReported = this.usage.dirtySince === null;
    recordUsage(this.usage, now, outcome, input.caller ?? null, times);
    // The first unreported request arms the report alarm (once per report period at most).
    if (wasReported || this.alarmAt === null) void this.rearm();
  }

  /**
   * Sets the guard's one alarm to the earliest of its jobs: a scheduled
   * revocation, and the next usage report while something is unreported.
   */
  private async rearm(): Promise<void> {
    const s = this.state;
    let at = Number.POSITIVE_INFINITY;
    if (s && !s.revoked && s.revokeAt !== null) at = s.revokeAt;
    const dirtySince = this.usage.dirtySince;
    if (this.counting && dirtySince !== null) at = Math.min(at, Math.max(this.retry?.at ?? 0, nextReportAt(this.usage.reportedAt, dirtySince)));
    if (at === Number.POSITIVE_INFINITY || at === this.alarmAt) return;
    this.alarmAt = at;
    await this.ctx.storage.setAlarm(at);
  }

  /**
   * Sends the usage summary to the org's ledger (from the alarm only, never on a
   * request). The period is marked reported before the call so that requests
   * counted meanwhile stay fresh for the next report; a failed call is retried a
   * period later, its findings carried over.
   */
  private async report(now: number): Promise<void> {
    const { org, keyId } = this.usage;
    if (org === null || keyId === null) {
      markReported(this.usage, now);
      return;
    }
    const previous = this.usage.reportedAt;
    const report = buildReport(keyId, this.usage, now, this.thresholds);
    report.anomalies = [...(this.retry?.anomalies ?? []).filter((a) => !report.anomalies.some((b) => b.type === a.type)), ...report.anomalies];
    const dirtySince = this.usage.dirtySince;
    markReported(this.usage, now);
    try {
      await withTimeout(this.env.ORG_LEDGER.get(this.env.ORG_LEDGER.idFromName(org)).report(report), REPORT_TIMEOUT_MS, "org ledger");
    } catch {
      this.usage.reportedAt = previous;
      this.usage.dirtySince = Math.min(this.usage.dirtySince ?? now, dirtySince ?? now);
      this.retry = { at: now + REPORT_PERIOD_MS, anomalies: report.anomalies };
      return;
    }
    this.retry = null;
    this.counters.rowsWritten += this.ctx.storage.sql.exec("INSERT OR REPLACE INTO usage (id, data) VALUES (1, ?)", this.usageSnapshot()).rowsWritten;
  }

  /** Revokes now, or schedules it (`at`, for a rotation grace period). Idempotent. */
  async revoke(input: { settings: KeySettings; at: number | null }): Promise<GuardStatus> {
    const now = Date.now();
    const state = this.adopt(input.settings, now);
    if (!state.revoked) {
      if (input.at === null || input.at <= now) {
        state.revoked = true;
        state.revokedAt = now;
        state.revokeAt = null;
      } else if (state.revokeAt === null || input.at < state.revokeAt) {
        state.revokeAt = input.at;
        await this.rearm();
      }
      state.version = Math.max(state.version, input.settings.version);
      this.writeState();
    }
    return this.snapshot();
  }

  /** Operator limit change: effective on the next request; the window is kept. */
  setLimit(input: { settings: KeySettings; limit: number; windowSeconds: number }): GuardStatus {
    const state = this.adopt(input.settings, Date.now());
    state.limit = input.limit;
    state.windowMs = input.windowSeconds * 1000;
    state.version = Math.max(state.version, input.settings.version);
    this.writeState();
    return this.snapshot();
  }

  /**
   * Suspends or resumes the key: in force on the next request, written before
   * this returns. The window and everything else are kept as they are, so an
   * enabled key comes back exactly as it was. A stale record (older version)
   * cannot flip it back, because adopt() ignores it.
   */
  setDisabled(input: { settings: KeySettings; disabled: boolean }): GuardStatus {
    const state = this.adopt(input.settings, Date.now());
    state.disabled = input.disabled;
    state.version = Math.max(state.version, input.settings.version);
    this.writeState();
    return this.snapshot();
  }

  /**
   * An admin's change to the balance (set, increment, decrement), applied in
   * order with the requests around it, so none is lost or counted twice; written
   * before this returns. Increment and decrement of an unlimited key are refused.
   */
  adjustCredits(input: { settings: KeySettings; change: CreditOperation }): CreditsResult {
    const now = Date.now();
    const state = this.adopt(input.settings, now);
    if (state.credits === null && input.change.operation !== "set") return { ok: false, reason: "unlimited" };
    state.credits = adjusted(state.credits, input.change, now);
    state.version = Math.max(state.version, input.settings.version);
    this.writeState();
    return { ok: true, status: this.snapshot() };
  }

  /** Replaces the key's metadata; written before this returns, handed to stale callers from the next request. */
  setMeta(input: { settings: KeySettings; meta: KeyMeta | null }): GuardStatus {
    const state = this.adopt(input.settings, Date.now());
    state.meta = input.meta;
    state.version = Math.max(state.version, input.settings.version);
    this.writeState();
    return this.snapshot();
  }

  /** The key's security state as the guard holds it, for the admin API. */
  describe(settings: KeySettings): GuardStatus {
    this.adopt(settings, Date.now());
    return this.snapshot();
  }

  private snapshot(): GuardStatus {
    const s = this.state;
    if (!s) throw new Error("guard has no state yet");
    const now = Date.now();
    return {
      keyId: s.keyId,
      version: s.version,
      revoked: this.isRevoked(s, now),
      revokedAt: revokedAtAsOf(s.revokedAt, s.revokeAt, now),
      revokeAt: s.revokeAt,
      disabled: s.disabled,
      credits: s.credits === null ? null : { ...refilled(s.credits, now), nextRefillAt: nextRefillAt(refilled(s.credits, now)) },
      limit: s.limit,
      windowSeconds: Math.round(s.windowMs / 1000),
      lastUsedAt: this.lastUsedAt,
      inWindow: this.window.count(now, s.windowMs),
      pending: this.pending.length,
      ...this.counters,
    };
  }

  /** Writes pending admissions now (also run by a timer, and once pendingCap(limit) are waiting). */
  flush(): void {
    if (this.flushTimer !== null) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    const state = this.state;
    if (!state || this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    // The balance goes with its admissions: a crash forgets both, never one alone.
    if (this.creditsDirty) this.writeState();
    const newest = batch[batch.length - 1] as number;
    // Reuse the oldest row if its batch has left the window; otherwise add one.
    // Rows in use never exceed the batches inside one window, plus one.
    const oldest = this.slots[0];
    const slot = oldest && oldest.newest + state.windowMs <= Date.now() ? (this.slots.shift() as { slot: number }).slot : this.slots.length;
    this.slots.push({ slot, newest });
    this.counters.rowsWritten += this.ctx.storage.sql.exec(
      `INSERT INTO admissions (slot, newest, stamps, usage) VALUES (?, ?, ?, ?)
       ON CONFLICT(slot) DO UPDATE SET newest = excluded.newest, stamps = excluded.stamps, usage = excluded.usage`,
      slot,
      newest,
      JSON.stringify(batch),
      this.counting ? this.usageSnapshot() : null,
    ).rowsWritten;
  }

  /** The usage state as JSON, stamped with the time it was taken. */
  private usageSnapshot(): string {
    const now = Date.now();
    pruneUsage(this.usage, now);
    this.usage.savedAt = now;
    return JSON.stringify(this.usage);
  }

  override async alarm(): Promise<void> {
    this.alarmAt = null;
    await this.runAlarm(Date.now());
  }

  /**
   * The alarm's work at `now`: applies a scheduled revocation that is due, and
   * reports usage when a report is due (never more than once a REPORT_PERIOD_MS).
   * alarm() passes the clock; tests pass a fake one.
   */
  async runAlarm(now: number): Promise<void> {
    const s = this.state;
    if (s && !s.revoked && s.revokeAt !== null && s.revokeAt <= now) {
      s.revoked = true;
      s.revokedAt = s.revokeAt;
      this.writeState();
    }
    const dirtySince = this.usage.dirtySince;
    if (this.counting && dirtySince !== null && now >= nextReportAt(this.usage.reportedAt, dirtySince) && now >= (this.retry?.at ?? 0)) {
      await this.report(now);
    }
    await this.rearm();
  }

  private decide(state: State, consume: boolean, cost: number, now: number): GuardVerdict {
    if (this.isRevoked(state, now)) return { kind: "revoked" };
    if (state.expiresAt !== null && now >= state.expiresAt) return { kind: "expired" };
    // Suspended: refused before any permission or rate answer, and nothing is consumed.
    if (state.disabled) return { kind: "disabled" };
    const windowSeconds = Math.round(state.windowMs / 1000);
    if (!consume) {
      const credits = state.credits === null ? null : creditState(refilled(state.credits, now));
      return { kind: "usable", limit: state.limit, windowSeconds, ...this.window.peek(now, state.limit, state.windowMs), credits };
    }
    // Credits and window in one step: out of credits is answered without
    // touching the window, and a window refusal spends nothing.
    const spend = state.credits === null ? null : trySpend(state.credits, cost, now);
    if (spend !== null && !spend.ok) {
      this.counters.refused++;
      return { kind: "exhausted", cost, ...creditState(spend.credits) };
    }
    const decision = this.window.tryAdmit(now, state.limit, state.windowMs);
    if (!decision.admitted) {
      this.counters.refused++;
      return { kind: "limited", limit: state.limit, windowSeconds, retryAfterMs: decision.retryAfterMs };
    }
    this.counters.admitted++;
    this.lastUsedAt = now;
    this.pending.push(now);
    let credits: CreditState | null = null;
    if (spend !== null) {
      if (spend.credits.refilledAt !== state.credits?.refilledAt) this.unwrittenSpend = 0; // a refill: count afresh
      state.credits = spend.credits;
      this.unwrittenSpend += cost;
      this.creditsDirty = true;
      credits = creditState(spend.credits);
    }
    return { kind: "admitted", limit: state.limit, windowSeconds, remaining: decision.remaining, resetMs: decision.resetMs, credits };
  }

  /** Credits worth about 5% of the balance as last written are waiting to be written. */
  private creditsDue(state: State): boolean {
    return state.credits !== null && this.unwrittenSpend > 0 && this.unwrittenSpend >= pendingCap(state.credits.remaining + this.unwrittenSpend);
  }

  private isRevoked(state: State, now: number): boolean {
    return isRevokedAt(state.revoked, state.revokeAt, now);
  }

  /**
   * Takes the caller's view of the key's settings only where it is newer than
   * ours. A stale record (older version) cannot undo a revocation or a limit
   * change made here; a revocation seen anywhere is kept, because revocation
   * only ever goes one way.
   */
  private adopt(settings: KeySettings, now: number): State {
    let state = this.state;
    if (state && state.keyId !== settings.keyId) throw new Error("guard asked about another key");
    if (!state) {
      state = {
        keyId: settings.keyId,
        version: settings.version,
        revoked: false,
        revokedAt: null,
        revokeAt: settings.revokeAt,
        limit: settings.limit,
        windowMs: settings.windowSeconds * 1000,
        expiresAt: settings.expiresAt,
        disabled: settings.disabled === true,
        credits: settings.credits ?? null,
        orgLimit: null,
      };
      this.state = state;
    } else if (settings.version > state.version) {
      state.version = settings.version;
      state.limit = settings.limit;
      state.windowMs = settings.windowSeconds * 1000;
      state.expiresAt = settings.expiresAt;
      state.disabled = settings.disabled === true;
      if (settings.revokeAt !== null) state.revokeAt = Math.min(state.revokeAt ?? settings.revokeAt, settings.revokeAt);
    }
    if (settings.revoked && !state.revoked) {
      state.revoked = true;
      state.revokedAt = now;
      this.writeState();
    }
    return state;
  }

  private writeState(): void {
    const s = this.state;
    if (!s) return;
    this.counters.rowsWritten += this.ctx.storage.sql.exec(
      `INSERT OR REPLACE INTO guard_state (id, key_id, version, revoked, revoked_at, revoke_at, limit_n, window_ms, expires_at, disabled, credits, meta, org_limit)
       VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      s.keyId,
      s.version,
      s.revoked ? 1 : 0,
      s.revokedAt,
      s.revokeAt,
      s.limit,
      s.windowMs,
      s.expiresAt,
      s.disabled ? 1 : 0,
      s.credits === null ? null : JSON.stringify(s.credits),
      s.meta === undefined ? null : JSON.stringify(s.meta),
      s.orgLimit === null ? null : JSON.stringify(s.orgLimit),
    ).rowsWritten;
    this.creditsDirty = false;
    this.unwrittenSpend = 0;
  }
}
