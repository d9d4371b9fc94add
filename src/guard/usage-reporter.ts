import type { OrgLedger } from "../ledger/org-ledger";
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
import { buildReport, nextReportAt, quietReportPeriodOf, REPORT_PERIOD_MS, reportDelayOf, reportPeriodAfter } from "../usage/usage-report";
import type { GuardCheck, GuardUsage, GuardVerdict } from "./guard-types";

/** A usage report that the ledger has not taken within this is retried later. */
const REPORT_TIMEOUT_MS = 5_000;
/**
 * Refusals are written at most this long after they are counted (docs/usage.md,
 * crash bound). They write no admission, so no flush carries them: without a
 * write of their own, refusals after a report lived in memory only and an
 * eviction forgot them. One row a second at most, however many refusals.
 */
export const REFUSAL_SAVE_DELAY_MS = 1_000;

/** What the reporter reads of the Worker's environment. */
export interface UsageReporterEnv {
  /** Its org's ledger, for the usage roll-up. */
  ORG_LEDGER: DurableObjectNamespace<OrgLedger>;
  USAGE_COUNTING?: unknown;
  USAGE_ANOMALY_THRESHOLDS?: unknown;
  KEYWARD_ENV?: unknown;
  /** Development only (usage-report.ts reportDelayOf). */
  KEYWARD_DEV_REPORT_DELAY_MS?: unknown;
  /** Development only (usage-report.ts quietReportPeriodOf). */
  KEYWARD_DEV_QUIET_REPORT_PERIOD_MS?: unknown;
}

const ADMITTED: Outcome = { admitted: true };

/** How a verdict is counted: refusals by their code; a usable key refused by the gateway by the gateway's code. */
export function outcomeOf(verdict: GuardVerdict, refusal: string | undefined): Outcome | null {
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

/**
 * One key's usage counts (docs/usage.md) and their report to the org's ledger.
 * Counts are kept in memory and written inside the admissions row each flush
 * writes anyway, or in the one-row `usage` table after a report and within a
 * second of refusals (saveSoon). Reports go from the guard's alarm, or, for a
 * key quiet longer than its report period, from the request that woke it, after
 * its verdict (reportFromRequest).
 */
export class UsageReporter {
  usage: UsageState = emptyUsage();
  readonly counting: boolean;
  private readonly thresholds: AnomalyThresholds;
  private readonly reportDelayMs: number;
  private readonly quietPeriodMs: number;
  /** After a failed report: not before this time, and its findings go with the next one. */
  private retry: { at: number; anomalies: AnomalyFinding[] } | null = null;
  /** Requests (admitted and refused) counted since the last report, and how many the last report carried (memory only: after a wake the key counts as quiet). */
  private unreported = 0;
  private lastReported = 0;
  /** A pending write of the usage row (saveSoon). */
  private saveTimer: ReturnType<typeof setTimeout> | null = null;

  /**
   * `latestFlush`: the usage copy in the latest admissions row (JSON), if any; `savedRow`: the
   * usage row's data as the wake read it (guard-schema.ts wakeRead), or undefined to read it here.
   */
  constructor(
    private readonly env: UsageReporterEnv,
    private readonly sql: SqlStorage,
    latestFlush: string | null,
    savedRow?: string | null,
  ) {
    this.counting = env.USAGE_COUNTING !== "off";
    let thresholds = DEFAULT_THRESHOLDS;
    try {
      thresholds = parseThresholds(env.USAGE_ANOMALY_THRESHOLDS);
    } catch {
      // The Worker refuses to start with a bad value (config.ts says which); the guard keeps the defaults.
    }
    this.thresholds = thresholds;
    // A bad or production value: the Worker refuses to start (config.ts); the guard keeps the default.
    this.reportDelayMs = reportDelayOf(env).delayMs;
    this.quietPeriodMs = quietReportPeriodOf(env).periodMs;
    const saved = savedRow !== undefined ? savedRow : (sql.exec("SELECT data FROM usage WHERE id = 1").toArray()[0]?.data ?? null);
    // The newest copy wins: the admissions rows and the usage row are written at different times.
    for (const copy of [parseUsage(latestFlush), parseUsage(saved === null ? null : String(saved))]) {
      if (copy && copy.savedAt >= this.usage.savedAt) this.usage = copy;
    }
  }

  /**
   * Counts one outcome (memory only: written by the next flush or report).
   * True when it is the first unreported one, so the report alarm must be armed.
   */
  count(now: number, outcome: Outcome, input: Pick<GuardCheck, "org" | "caller">, keyId: string | null, times = 1): boolean {
    if (input.org !== undefined) this.usage.org = input.org;
    this.usage.keyId ??= keyId;
    const wasReported = this.usage.dirtySince === null;
    recordUsage(this.usage, now, outcome, input.caller ?? null, times);
    this.unreported += times;
    return wasReported;
  }

  /** When the next report is due (null: nothing unreported, or counting is off). */
  nextReportAt(): number | null {
    const dirtySince = this.usage.dirtySince;
    if (!this.counting || dirtySince === null) return null;
    return Math.max(
      this.retry?.at ?? 0,
      nextReportAt(this.usage.reportedAt, dirtySince, this.reportDelayMs, reportPeriodAfter(this.lastReported, this.quietPeriodMs)),
    );
  }

  /** The key's usage as held here (fresh to the request), for the usage API. */
  read(granularity: Granularity, from: number, to: number): GuardUsage {
    pruneUsage(this.usage, Date.now());
    return { buckets: bucketsOf(this.usage, granularity, from, to), lastUsedAt: this.usage.lastUsedAt, locations: locationsOf(this.usage) };
  }

  /**
   * Writes the usage row within REFUSAL_SAVE_DELAY_MS (for counts no flush will
   * carry: refusals); `written` is told the rows it wrote. A write already on its
   * way takes the counts made meanwhile too.
   */
  saveSoon(written: (rows: number) => void): void {
    if (this.saveTimer !== null) return;
    this.saveTimer = setTimeout(() => written(this.save()), REFUSAL_SAVE_DELAY_MS);
  }

  /** A flush has just written a copy holding every count so far: a pending save has nothing left to do. */
  carried(): void {
    if (this.saveTimer !== null) clearTimeout(this.saveTimer);
    this.saveTimer = null;
  }

  /** Writes the one-row usage table now; answers the rows written. */
  save(): number {
    this.carried();
    return this.sql.exec("INSERT OR REPLACE INTO usage (id, data) VALUES (1, ?)", this.snapshot()).rowsWritten;
  }

  /** The usage state as JSON, stamped with the time it was taken. */
  snapshot(): string {
    const now = Date.now();
    pruneUsage(this.usage, now);
    this.usage.savedAt = now;
    return JSON.stringify(this.usage);
  }

  /**
   * True when the request just counted, the first unreported one (count()
   * answered true), may carry the report itself: the key's last report is at least
   * the quiet period old (QUIET_REPORT_PERIOD_MS unless a development setting says
   * less; a key used about once an hour). Its report would
   * otherwise cost an alarm: the setAlarm, the alarm's invocation and a usage row
   * after it (docs/performance.md, "Cost in four traffic regimes"). Never for a
   * key that has not reported yet (a new key's first requests often come in a
   * burst, which the alarm's delay gathers into one report), nor while a failed
   * report waits for its retry.
   */
  reportsFromRequest(now: number): boolean {
    const { reportedAt } = this.usage;
    return this.counting && this.retry === null && reportedAt !== null && now - reportedAt >= this.quietPeriodMs;
  }

  /**
   * Sends the report now, from the request that counted it, without making the
   * request wait (the caller does not await it; its verdict goes first). The
   * period is marked reported at once, so the write that follows the count
   * anyway (the admission's flush, or saveSoon for a refusal) carries the mark:
   * no row of its own. `failed` runs when the ledger did not take it: the counts
   * are unreported again and must be saved, since that write may already have
   * said otherwise, and the retry alarm armed.
   */
  reportFromRequest(now: number, failed: () => void): Promise<void> {
    return this.send(now).then((result) => {
      if (result === "failed") failed();
    });
  }

  /**
   * Sends the usage summary to the org's ledger when a report is due at `now`,
   * and answers the storage rows written (the usage row, once the ledger has it).
   */
  async reportIfDue(now: number): Promise<number> {
    const due = this.nextReportAt();
    if (due === null || now < due) return 0;
    return (await this.send(now)) === "sent" ? this.save() : 0;
  }

  /**
   * Sends the report of everything unreported at `now`. The period is marked
   * reported before the call so that requests counted meanwhile stay fresh for
   * the next report; a failed call is retried a period later, its findings
   * carried over. "none": nothing to send it to (no org or key id yet).
   */
  private async send(now: number): Promise<"sent" | "failed" | "none"> {
    const { org, keyId } = this.usage;
    // Requests counted while the report is on its way go into the next one.
    const carried = this.unreported;
    this.unreported = 0;
    this.lastReported = carried;
    if (org === null || keyId === null) {
      markReported(this.usage, now);
      return "none";
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
      this.unreported += carried;
      return "failed";
    }
    this.retry = null;
    return "sent";
  }
}
