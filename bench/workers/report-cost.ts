/**
 * What a usage report costs, counted (the cost phase's regimes: bench/lib/cost-regimes.mjs).
 * The bench's throughput keys are in no ledger, so their reports stop at the
 * ledger's door; here one key is put in a ledger of its own, and its guard's
 * report is run through the real path (the guard's alarm, the call to the
 * ledger), with the rows each side writes and the wall time each takes counted.
 * Three synthetic reports then price the ledger's side for a later report in the
 * same hour, one that opens a new hour, and one that opens a new day.
 */

import { settingsOf } from "../../src/keys/key-model";
import { OrgLedger } from "../../src/ledger/org-ledger";
import type { KeyRecord } from "../../src/lookup/key-record";
import { DAY_MS, floorTo, HOUR_MS } from "../../src/usage/usage-book";
import type { UsageReport } from "../../src/usage/usage-report";
import { watchSql } from "../../test/support/sql-spy";
import type { BenchGuard } from "./bench-guard";

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

  /**
   * Bench only: the rows written when a report's prune deletes one day row past
   * its keeping (usage-store.ts storeReport), as every day row a key writes is
   * deleted 90 days on. A row of day 0 (1970) is put in and deleted.
   */
  pruneCost(keyId: string): number {
    const sql = this.ctx.storage.sql;
    sql.exec("INSERT INTO usage_days (key_id, day, admitted, refused, hours) VALUES (?, 0, 1, '{}', '[]')", keyId);
    return sql.exec("DELETE FROM usage_days WHERE key_id = ? AND day < ?", keyId, 1).rowsWritten;
  }
}

interface Env {
  /** KeyGuard with its flush and alarm reachable (bench-guard.ts): the guard's report is run there. */
  BENCH_GUARD?: DurableObjectNamespace<BenchGuard>;
  ORG_LEDGER: DurableObjectNamespace<OrgLedger>;
}

/**
 * One request on a key quiet longer than its report period (a key used about
 * once an hour), counted end to end whatever the code does with its report:
 * the check, any alarm it sets and that alarm's run, the calls to the ledger,
 * and the rows both sides write.
 */
export interface QuietRequestCost {
  /** Durable Object requests: the check, the alarm invocations, the calls to the ledger. */
  doRequests: number;
  alarms: number;
  ledgerCalls: number;
  /** The guard's rows (its admission, and a usage row if the report wrote one) and its setAlarm calls (priced as rows). */
  guardRows: number;
  alarmWrites: number;
  /** The ledger's rows for it (a day already holding the key's row). */
  ledgerRows: number;
  /** Wall time from the check to the report at the ledger (the guard cannot hibernate meanwhile). */
  wallMs: number;
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
  /** Rows written deleting one day row past its keeping (each is deleted 90 days after it was written). */
  pruneRows: number;
  /** A request on a key quiet longer than its report period; null without the BENCH_GUARD binding. */
  quiet: QuietRequestCost | null;
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
      admission: "central",
    },
    { at: now, actor: "bench", action: "key.created", keyId: record.id, requestId: crypto.randomUUID(), detail: {} },
  );
  if (!env.BENCH_GUARD) throw new Error("no BENCH_GUARD binding");
  const guard = env.BENCH_GUARD.get(env.BENCH_GUARD.idFromName(record.id));
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
  await guard.flushNow();
  const rows0 = (await guard.describe(settings)).rowsWritten;
  const l0 = await ledgerStats(ledger);
  const t0 = Date.now();
  // The report due a minute on (the alarm's clock passed in, as the tests do).
  await guard.alarmAt(Date.now() + 61_000);
  const alarmMs = Date.now() - t0;
  const rows1 = (await guard.describe(settings)).rowsWritten;
  const l1 = await ledgerStats(ledger);

  // The ledger's side of later reports, sent to it directly.
  const hour = floorTo(now, HOUR_MS);
  const day = floorTo(now, DAY_MS);
  const otherHour = day + (((hour - day) / HOUR_MS + 1) % 24) * HOUR_MS;
  // Shaped as buildReport makes them: every bucket from the previous report's hour and day on.
  const synthetic = (hourStarts: number[], dayStarts: number[], admitted: number): UsageReport => ({
    keyId: record.id,
    at: Date.now(),
    lastUsedAt: Date.now(),
    hours: hourStarts.map((start) => ({ start, admitted, refused: {} })),
    days: dayStarts.map((start) => ({ start, admitted, refused: {} })),
    locations: { countries: [], asns: [], colos: [] },
    anomalies: [],
  });
  const priced = async (report: UsageReport) => {
    const before = await ledgerStats(ledger);
    await ledger.report(report);
    return (await ledgerStats(ledger)).rows - before.rows;
  };
  const sameHour = await priced(synthetic([hour], [day], checks + 1));
  const t1 = Date.now();
  const newHour = await priced(synthetic([hour, otherHour], [day], checks + 2));
  const ledgerMs = Date.now() - t1;
  // The first report of a day: the previous day's last hour again (its row updated) and the new day's row.
  const newDay = await priced(synthetic([day + DAY_MS - HOUR_MS, day + DAY_MS], [day, day + DAY_MS], checks + 3));
  const pruneRows = await ledger.pruneCost(record.id);
  return {
    guardRows: rows1 - rows0,
    ledgerCalls: l1.reports - l0.reports,
    alarmWrites: 1,
    ledgerRows: { first: l1.rows - l0.rows, sameHour, newHour, newDay },
    alarmMs,
    ledgerMs,
    checkMs: checkMs / checks,
    pruneRows,
    quiet: env.BENCH_GUARD ? await quietRequest(env.BENCH_GUARD, ledger, record, org) : null,
  };
}

/** QuietRequestCost, counted on a guard of its own (the BenchGuard class) for the same key and ledger. */
async function quietRequest(
  guards: DurableObjectNamespace<BenchGuard>,
  ledger: DurableObjectStub<BenchLedger>,
  record: KeyRecord,
  org: string,
): Promise<QuietRequestCost> {
  const guard = guards.get(guards.idFromName(`quiet:${record.id}`));
  const settings = settingsOf(record);
  const check = () => guard.check({ requestId: crypto.randomUUID(), consume: true, settings, org, caller: null });
  // Its first request and report (from the alarm, played at its time), then an hour of quiet.
  await check();
  await guard.alarmAt(Date.now() + 61_000);
  await guard.quietFor(3_600_000);
  await guard.flushNow();
  const rows0 = (await guard.describe(settings)).rowsWritten;
  const sets0 = (await guard.alarms()).sets;
  const l0 = await ledgerStats(ledger);
  const t0 = Date.now();
  await check();
  await guard.flushNow();
  const checkMs = Date.now() - t0;
  // A report sent from the request lands without waiting for anything: asked until it has (2 s at most).
  let l1 = await ledgerStats(ledger);
  while (l1.reports === l0.reports && Date.now() - t0 < 2_000) l1 = await ledgerStats(ledger);
  let wallMs = Date.now() - t0;
  // Otherwise the alarm sends it: played at its time.
  let alarms = 0;
  if (l1.reports === l0.reports) {
    const { at } = await guard.alarms();
    if (at !== null) {
      const t1 = Date.now();
      await guard.alarmAt(at);
      wallMs = checkMs + (Date.now() - t1);
      alarms = 1;
      l1 = await ledgerStats(ledger);
    }
  }
  const ledgerCalls = l1.reports - l0.reports;
  return {
    doRequests: 1 + alarms + ledgerCalls,
    alarms,
    ledgerCalls,
    guardRows: (await guard.describe(settings)).rowsWritten - rows0,
    alarmWrites: (await guard.alarms()).sets - sets0,
    ledgerRows: l1.rows - l0.rows,
    wallMs,
  };
}
