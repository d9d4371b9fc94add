/**
 * What a usage report costs, counted (the cost phase's regimes: bench/lib/cost-regimes.mjs).
 * The bench's throughput keys are in no ledger, so their reports stop at the
 * ledger's door; here one key is put in a ledger of its own, and its guard's
 * report is run through the real path (the guard's alarm, the call to the
 * ledger), with the rows each side writes and the wall time each takes counted.
 * Three synthetic reports then price the ledger's side for a later report in the
 * same hour, one that opens a new hour, and one that opens a new day.
 */

import type { KeyGuard } from "../../src/guard/key-guard";
import { settingsOf } from "../../src/keys/key-model";
import { OrgLedger } from "../../src/ledger/org-ledger";
import type { KeyRecord } from "../../src/lookup/key-record";
import { DAY_MS, floorTo, HOUR_MS } from "../../src/usage/usage-book";
import type { UsageReport } from "../../src/usage/usage-report";
import { watchSql } from "../../test/support/sql-spy";

/** OrgLedger with its reports' written rows counted (bound as ORG_LEDGER in the bench's Keyward services). */
export class BenchLedger extends OrgLedger {
  private counted = { reports: 0, rows: 0 };

  override report(report: UsageReport): void {
    const restore = watchSql(this.ctx, (_query, cursor) => {
      this.counted.rows += cursor.rowsWritten;
    });
    try {
      super.report(report);
    } finally {
      restore();
    }
    this.counted.reports++;
  }

  /** Bench only: reports taken and rows they wrote since this instance started. */
  reportStats(): { reports: number; rows: number } {
    return { ...this.counted };
  }
}

interface Env {
  KEY_GUARD: DurableObjectNamespace<KeyGuard>;
  ORG_LEDGER: DurableObjectNamespace<OrgLedger>;
}

/** One report's cost as counted; each `*Ms` is a wall time seen from the caller (an upper bound on the callee's active time). */
export interface ReportCost {
  /** The guard's rows (its `usage` row) and calls to the ledger for one report from its alarm. */
  guardRows: number;
  ledgerCalls: number;
  /**
   * setAlarm calls per report, priced as a row each (as the peer's are): the first
   * request after a report arms the next one, once (test/usage-guard.test.ts: "sets
   * its report alarm once"). Not counted here: the guard keeps no counter of it.
   */
  alarmWrites: number;
  /** Ledger rows: the key's first report, a later one in the same hour, one opening a new hour, one opening a new day. */
  ledgerRows: { first: number; sameHour: number; newHour: number; newDay: number };
  /** Wall time of the alarm (the guard's work and its call to the ledger), of a report at the ledger, and of one check. */
  alarmMs: number;
  ledgerMs: number;
  checkMs: number;
}

const ledgerStats = (ledger: DurableObjectStub<BenchLedger>) => ledger.reportStats() as Promise<{ reports: number; rows: number }>;

export async function reportCost(env: Env, record: KeyRecord): Promise<ReportCost> {
  const org = `org_bench_report_${record.id}`;
  const ledger = env.ORG_LEDGER.get(env.ORG_LEDGER.idFromName(org)) as unknown as DurableObjectStub<BenchLedger>;
  const now = Date.now();
  await ledger.addKey(
    {
      id: record.id,
      hash: "0".repeat(64),
      prefix: record.prefix,
      label: "bench report cost",
      environment: "live",
      scopes: null,
      createdAt: now,
      createdBy: "bench",
      expiresAt: null,
      revokedAt: null,
      revokeAt: null,
      disabledAt: null,
      credits: null,
      meta: null,
      limit: record.rateLimit.limit,
      windowSeconds: record.rateLimit.windowSeconds,
      version: record.version,
      kvVersion: record.version,
      allowedIps: null,
      leak: null,
    },
    { at: now, actor: "bench", action: "key.created", keyId: record.id, requestId: crypto.randomUUID(), detail: {} },
  );
  const guard = env.KEY_GUARD.get(env.KEY_GUARD.idFromName(record.id));
  const settings = settingsOf(record);
  // Sequential checks: the round trip of one (the guard's answer, its hop included).
  let checkMs = 0;
  const checks = 5;
  for (let i = 0; i < checks; i++) {
    const t = Date.now();
    await guard.check({ requestId: crypto.randomUUID(), consume: true, settings, org, caller: null });
    checkMs += Date.now() - t;
  }
  // The admissions are written by their own flush, not by the report.
  await guard.flush();
  const rows0 = (await guard.describe(settings)).rowsWritten;
  const l0 = await ledgerStats(ledger);
  const t0 = Date.now();
  // The report due a minute on (the alarm's clock passed in, as the tests do).
  await guard.runAlarm(Date.now() + 61_000);
  const alarmMs = Date.now() - t0;
  const rows1 = (await guard.describe(settings)).rowsWritten;
  const l1 = await ledgerStats(ledger);

  // The ledger's side of later reports, sent to it directly.
  const hour = floorTo(now, HOUR_MS);
  const day = floorTo(now, DAY_MS);
  const otherHour = day + (((hour - day) / HOUR_MS + 1) % 24) * HOUR_MS;
  const synthetic = (hourStart: number, dayStart: number, admitted: number): UsageReport => ({
    keyId: record.id,
    at: Date.now(),
    lastUsedAt: Date.now(),
    hours: [{ start: hourStart, admitted, refused: {} }],
    days: [{ start: dayStart, admitted, refused: {} }],
    locations: { countries: [], asns: [], colos: [] },
    anomalies: [],
  });
  const priced = async (report: UsageReport) => {
    const before = await ledgerStats(ledger);
    await ledger.report(report);
    return (await ledgerStats(ledger)).rows - before.rows;
  };
  const sameHour = await priced(synthetic(hour, day, checks + 1));
  const t1 = Date.now();
  const newHour = await priced(synthetic(otherHour, day, checks + 2));
  const ledgerMs = Date.now() - t1;
  const newDay = await priced(synthetic(day + DAY_MS, day + DAY_MS, 1));
  return {
    guardRows: rows1 - rows0,
    ledgerCalls: l1.reports - l0.reports,
    alarmWrites: 1,
    ledgerRows: { first: l1.rows - l0.rows, sameHour, newHour, newDay },
    alarmMs,
    ledgerMs,
    checkMs: checkMs / checks,
  };
}
