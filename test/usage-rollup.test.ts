import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { KeyGuard } from "../src/guard/key-guard";
import { UsageReporter } from "../src/guard/usage-reporter";
import type { LedgerKey, OrgLedger } from "../src/ledger/org-ledger";
import {
  nextReportAt,
  QUIET_REPORT_PERIOD_MS,
  quietReportPeriodOf,
  REPORT_DELAY_MS,
  REPORT_PERIOD_MS,
  reportDelayOf,
  type UsageReport,
} from "../src/usage/usage-report";
import { countingNamespace } from "../test-support/counting";
import { guardStub, harness } from "./support/harness";
import { SEEDED_AT, seededKey } from "./support/ledger-keys";
import { watchSql } from "./support/sql-spy";
import { devToken } from "./support/tokens";

const ORG = () => `org_${crypto.randomUUID().slice(0, 8)}`;
const ledgerStub = (org: string) => env.ORG_LEDGER.get(env.ORG_LEDGER.idFromName(org));

async function admin(org: string, role = "org:admin") {
  return { authorization: `Bearer ${await devToken({ org, role })}`, "content-type": "application/json" };
}

async function createKey(h: ReturnType<typeof harness>, org: string, body: Record<string, unknown> = { label: "ci" }) {
  const res = await h.send(`/_keyward/v1/orgs/${org}/keys`, { method: "POST", headers: await admin(org), body: JSON.stringify(body) });
  expect(res.status).toBe(201);
  return (await res.json()) as { id: string; key: string };
}

/** What the ledger holds of one key's usage: reports received and the hour buckets' totals. */
async function ledgerUsage(org: string, keyId: string) {
  return runInDurableObject(ledgerStub(org), (ledger: OrgLedger) => {
    const sql = (ledger as unknown as { ctx: DurableObjectState }).ctx.storage.sql;
    const row = sql.exec("SELECT reports, last_used_at FROM key_usage WHERE key_id = ?", keyId).toArray()[0];
    const days = sql.exec("SELECT hours FROM usage_days WHERE key_id = ?", keyId).toArray();
    const hours = days.flatMap((d) => JSON.parse(String(d.hours)) as { admitted: number }[]);
    return {
      reports: row ? Number(row.reports) : 0,
      lastUsedAt: row ? row.last_used_at : null,
      admitted: hours.reduce((n, r) => n + r.admitted, 0),
    };
  });
}

/** Counts the rows written through an object's SQL handle until the returned function is called. */
const countRowsWritten = (state: DurableObjectState, into: { rows: number }) => watchSql(state, (_query, cursor) => (into.rows += cursor.rowsWritten));

const tick = (keyId: string, at: number) => runInDurableObject(guardStub(keyId), (g: KeyGuard) => KeyGuard.hooks(g).runAlarm(at));

describe("usage roll-up to the org ledger", () => {
  it("reports a few seconds after the first unreported request, and never twice within a minute", () => {
    expect(nextReportAt(null, 1_000)).toBe(1_000 + REPORT_DELAY_MS);
    expect(nextReportAt(0, 1_000)).toBe(REPORT_PERIOD_MS);
    expect(nextReportAt(0, 100_000)).toBe(100_000 + REPORT_DELAY_MS);
  });

  it("reports sooner after the first request only in development, with KEYWARD_DEV_REPORT_DELAY_MS (the HTTP usage test's setting), never later than the default", () => {
    expect(reportDelayOf({ KEYWARD_ENV: "development", KEYWARD_DEV_REPORT_DELAY_MS: "200" })).toEqual({ delayMs: 200, error: null });
    expect(nextReportAt(null, 1_000, 200)).toBe(1_200);
    // The once-a-minute bound holds whatever the delay.
    expect(nextReportAt(0, 1_000, 200)).toBe(REPORT_PERIOD_MS);
    expect(reportDelayOf({ KEYWARD_ENV: "development" })).toEqual({ delayMs: REPORT_DELAY_MS, error: null });
    expect(reportDelayOf({ KEYWARD_ENV: "production", KEYWARD_DEV_REPORT_DELAY_MS: "200" }).delayMs).toBe(REPORT_DELAY_MS);
    expect(reportDelayOf({ KEYWARD_ENV: "development", KEYWARD_DEV_REPORT_DELAY_MS: "9000" }).delayMs).toBe(REPORT_DELAY_MS);
  });

  it("a guard's reporter takes KEYWARD_DEV_REPORT_DELAY_MS in development, as wrangler dev passes it", async () => {
    const h = harness();
    const org = ORG();
    const { id } = await createKey(h, org);
    const due = await runInDurableObject(guardStub(id), (_g: KeyGuard, state) =>
      [{ KEYWARD_ENV: "development", KEYWARD_DEV_REPORT_DELAY_MS: "200" }, {}].map((vars) => {
        const reporter = new UsageReporter({ ...env, ...vars }, state.storage.sql, null);
        reporter.count(1_000, { admitted: true }, { org }, id);
        return reporter.nextReportAt();
      }),
    );
    expect(due).toEqual([1_200, 1_000 + REPORT_DELAY_MS]);
  });

  it("shortens a quiet key's report period only in development, with KEYWARD_DEV_QUIET_REPORT_PERIOD_MS (the bench's setting), never beyond the default", () => {
    expect(quietReportPeriodOf({ KEYWARD_ENV: "development", KEYWARD_DEV_QUIET_REPORT_PERIOD_MS: "60000" })).toEqual({ periodMs: 60_000, error: null });
    expect(quietReportPeriodOf({ KEYWARD_ENV: "development" })).toEqual({ periodMs: QUIET_REPORT_PERIOD_MS, error: null });
    expect(quietReportPeriodOf({ KEYWARD_ENV: "production", KEYWARD_DEV_QUIET_REPORT_PERIOD_MS: "60000" })).toEqual({
      periodMs: QUIET_REPORT_PERIOD_MS,
      error: "is for local development only; remove it",
    });
    expect(quietReportPeriodOf({ KEYWARD_ENV: "development", KEYWARD_DEV_QUIET_REPORT_PERIOD_MS: "300000" }).periodMs).toBe(QUIET_REPORT_PERIOD_MS);
  });

  it("a guard's reporter waits the development quiet period after a quiet report, and still a minute after a busy one", async () => {
    const h = harness();
    const org = ORG();
    const t0 = Date.now();
    /** A report of `requests` requests at t0 + REPORT_DELAY_MS, then one more request: when the next report is due. */
    const dueAfterReport = async (vars: Record<string, string>, requests: number) => {
      const { id } = await createKey(h, org);
      return runInDurableObject(guardStub(id), async (_g: KeyGuard, state) => {
        const reporter = new UsageReporter({ ...env, ...vars }, state.storage.sql, null);
        reporter.count(t0, { admitted: true }, { org }, id, requests);
        await reporter.reportIfDue(t0 + REPORT_DELAY_MS);
        reporter.count(t0 + 10_000, { admitted: true }, { org }, id);
        return reporter.nextReportAt();
      });
    };
    const dev = (ms: string) => ({ KEYWARD_ENV: "development", KEYWARD_DEV_QUIET_REPORT_PERIOD_MS: ms });
    expect(await dueAfterReport(dev("60000"), 1)).toBe(t0 + REPORT_DELAY_MS + 60_000);
    expect(await dueAfterReport({}, 1)).toBe(t0 + REPORT_DELAY_MS + QUIET_REPORT_PERIOD_MS);
    // A busy report (BUSY_REPORT_REQUESTS or more) keeps the minute, whatever the setting.
    expect(await dueAfterReport(dev("0"), 30)).toBe(t0 + REPORT_DELAY_MS + REPORT_PERIOD_MS);
  });

  it("rolls up from the guard's alarm, at most once per 4.5 minutes for a quiet key, never on the request path", async () => {
    const h = harness();
    const org = ORG();
    const { id, key } = await createKey(h, org);
    for (let i = 0; i < 3; i++) expect((await h.call(key)).status).toBe(200);
    // The requests armed the alarm but told the ledger nothing.
    expect(await runInDurableObject(guardStub(id), (_g: KeyGuard, state) => state.storage.getAlarm())).not.toBeNull();
    expect((await ledgerUsage(org, id)).reports).toBe(0);

    const t0 = Date.now();
    await tick(id, t0 + REPORT_DELAY_MS);
    expect(await ledgerUsage(org, id)).toMatchObject({ reports: 1, admitted: 3 });

    for (let i = 0; i < 2; i++) expect((await h.call(key)).status).toBe(200);
    await tick(id, t0 + REPORT_DELAY_MS + 30_000);
    expect((await ledgerUsage(org, id)).reports).toBe(1);
    // Three requests made it a quiet key: not a minute after its report, but 4.5 minutes after.
    await tick(id, t0 + REPORT_DELAY_MS + REPORT_PERIOD_MS);
    expect((await ledgerUsage(org, id)).reports).toBe(1);
    await tick(id, t0 + REPORT_DELAY_MS + QUIET_REPORT_PERIOD_MS);
    expect(await ledgerUsage(org, id)).toMatchObject({ reports: 2, admitted: 5 });
    // Nothing new: no report at all.
    await tick(id, t0 + REPORT_DELAY_MS + 3 * QUIET_REPORT_PERIOD_MS);
    expect((await ledgerUsage(org, id)).reports).toBe(2);
  });

  it("prices a usage report: one alarm, one ledger call, and the rows both write (the first, and a later one)", async () => {
    const h = harness();
    const org = ORG();
    const { id, key } = await createKey(h, org);
    const t0 = Date.now();
    /** One request, its admission written, then the guard's alarm at `at`: what the report wrote and called. */
    const report = async (notBefore: number) => {
      expect((await h.call(key)).status).toBe(200);
      const at = Math.max(notBefore, Date.now() + REPORT_DELAY_MS + 1);
      // The admission is written by its own flush, not by the report.
      await runInDurableObject(guardStub(id), (g: KeyGuard) => KeyGuard.hooks(g).flush());
      const guard = { rows: 0 };
      const ledger = { rows: 0 };
      const calls: Record<string, number> = {};
      const restoreLedger = await runInDurableObject(ledgerStub(org), (_l: OrgLedger, state) => countRowsWritten(state, ledger));
      await runInDurableObject(guardStub(id), async (g: KeyGuard, state) => {
        const restore = countRowsWritten(state, guard);
        // The guard's own ledger namespace, counted: one call per report.
        const guardEnv = (g as unknown as { env: { ORG_LEDGER: DurableObjectNamespace<OrgLedger> } }).env;
        const real = guardEnv.ORG_LEDGER;
        guardEnv.ORG_LEDGER = countingNamespace(real, calls);
        try {
          await KeyGuard.hooks(g).runAlarm(at);
        } finally {
          guardEnv.ORG_LEDGER = real;
          restore();
        }
      });
      await runInDurableObject(ledgerStub(org), () => restoreLedger());
      return { calls, guardRows: guard.rows, ledgerRows: ledger.rows };
    };
    // The first: the guard's usage row; at the ledger, the key's usage row (and its key index entry) and its day's row
    // (its hour buckets inside) with its day-index entry. Before ledger schema 4: 8 rows (an hour
    // bucket and a day bucket of their own, each with two index entries).
    expect(await report(t0)).toEqual({ calls: { report: 1 }, guardRows: 1, ledgerRows: 4 });
    // A later one the same day: both rows updated in place, whatever hour it is (3 before schema 4
    // in the same hour, 6 in a new hour).
    expect(await report(t0 + REPORT_DELAY_MS + 1_000 + QUIET_REPORT_PERIOD_MS)).toEqual({ calls: { report: 1 }, guardRows: 1, ledgerRows: 2 });
    expect((await ledgerUsage(org, id)).reports).toBe(2);
  });

  /** The clock moved on: the guard's last report `ms` ago, saved so that a wake reads it (a fake clock for the period). */
  const ageLastReport = (id: string, ms: number) =>
    runInDurableObject(guardStub(id), async (g: KeyGuard, state) => {
      const reporter = KeyGuard.hooks(g).room.reporter;
      expect(reporter.usage.dirtySince).toBeNull();
      reporter.usage.reportedAt = Date.now() - ms;
      reporter.save();
      // The alarm that ran the last report (tick() plays it; the stored one would have fired by now).
      await state.storage.deleteAlarm();
    });

  /** One check on the guard after a wake, the ledger namespace swapped for `ledgers`: rows written, alarms set, the verdict. */
  const wakeAndCheck = async (id: string, org: string, ledgers: (real: DurableObjectNamespace<OrgLedger>) => DurableObjectNamespace<OrgLedger>) => {
    await evictDurableObject(guardStub(id));
    return runInDurableObject(guardStub(id), async (g: KeyGuard, state) => {
      const rows = { rows: 0 };
      let alarmSets = 0;
      const setAlarm = state.storage.setAlarm.bind(state.storage);
      state.storage.setAlarm = (...args: Parameters<typeof setAlarm>) => {
        alarmSets++;
        return setAlarm(...args);
      };
      const guardEnv = (g as unknown as { env: { ORG_LEDGER: DurableObjectNamespace<OrgLedger> } }).env;
      const real = guardEnv.ORG_LEDGER;
      // The reports sent, so that the test can wait for them (the guard does not: its verdict goes first).
      const sent: Promise<unknown>[] = [];
      const inner = ledgers(real);
      guardEnv.ORG_LEDGER = {
        idFromName: (name: string) => inner.idFromName(name),
        get: (ledgerId: DurableObjectId) => ({
          report: (r: UsageReport) => {
            const p = Promise.resolve(inner.get(ledgerId).report(r));
            sent.push(p.catch(() => undefined));
            return p;
          },
        }),
      } as unknown as DurableObjectNamespace<OrgLedger>;
      const restore = countRowsWritten(state, rows);
      const settings = { keyId: id, version: 1, limit: 60, windowSeconds: 60, expiresAt: null, revoked: false, revokeAt: null };
      const verdict = await g.check({ requestId: crypto.randomUUID(), consume: true, settings, org, caller: null });
      // The check's own clock (the request's time as the guard counted it).
      const at = KeyGuard.hooks(g).room.lastUsedAt as number;
      await Promise.all(sent);
      // Then the guard's own handling of the answer, and the admission's flush (the next tick).
      await new Promise((resolve) => setTimeout(resolve, 0));
      expect(KeyGuard.hooks(g).room.log.pendingCount).toBe(0);
      restore();
      guardEnv.ORG_LEDGER = real;
      return { at, verdict: verdict.kind, rows: rows.rows, alarmSets, alarm: await state.storage.getAlarm(), reports: sent.length };
    });
  };

  it("reports a key quiet longer than its report period from the request that woke it: one ledger call, no alarm, only the admission row", async () => {
    const h = harness();
    const org = ORG();
    const { id, key } = await createKey(h, org);
    expect((await h.call(key)).status).toBe(200);
    await tick(id, Date.now() + REPORT_DELAY_MS);
    expect((await ledgerUsage(org, id)).reports).toBe(1);
    await ageLastReport(id, QUIET_REPORT_PERIOD_MS);

    const calls: Record<string, number> = {};
    const woke = await wakeAndCheck(id, org, (real) => countingNamespace(real, calls));
    expect(woke).toMatchObject({ verdict: "admitted", alarmSets: 0, alarm: null, reports: 1 });
    expect(calls).toEqual({ report: 1 });
    // The admission's own row carries the report's mark: no usage row, no setAlarm (the alarm's report wrote both).
    expect(woke.rows).toBe(1);
    expect(await ledgerUsage(org, id)).toEqual({ reports: 2, lastUsedAt: woke.at, admitted: 2 });
    // A wake after it knows the report went: nothing to report, no alarm.
    await evictDurableObject(guardStub(id));
    const after = await runInDurableObject(guardStub(id), async (g: KeyGuard, state) => ({
      usage: KeyGuard.hooks(g).room.reporter.usage,
      alarm: await state.storage.getAlarm(),
    }));
    expect(after.usage).toMatchObject({ reportedAt: woke.at, dirtySince: null });
    expect(after.alarm).toBeNull();
  });

  it("keeps the counts of a report from the request that the ledger did not take, saved, and retries from the alarm", async () => {
    const h = harness();
    const org = ORG();
    const { id, key } = await createKey(h, org);
    expect((await h.call(key)).status).toBe(200);
    await tick(id, Date.now() + REPORT_DELAY_MS);
    await ageLastReport(id, QUIET_REPORT_PERIOD_MS);
    const down = () =>
      ({
        idFromName: (name: string) => name,
        get: () => ({ report: () => Promise.reject(new Error("ledger down")) }),
      }) as unknown as DurableObjectNamespace<OrgLedger>;
    const woke = await wakeAndCheck(id, org, down);
    expect(woke).toMatchObject({ verdict: "admitted", reports: 1 });
    // The admission row, then the usage row saying "not reported", and the retry alarm.
    expect(woke.rows).toBe(2);
    expect(woke.alarmSets).toBe(1);
    expect(woke.alarm).toBe(woke.at + REPORT_PERIOD_MS);
    await evictDurableObject(guardStub(id));
    const stored = await runInDurableObject(guardStub(id), (g: KeyGuard) => KeyGuard.hooks(g).room.reporter.usage.dirtySince);
    expect(stored).toBe(woke.at);
    // The retry reaches the ledger with the request counted.
    await tick(id, woke.at + REPORT_PERIOD_MS);
    expect(await ledgerUsage(org, id)).toMatchObject({ reports: 2, admitted: 2 });
  });

  it("keeps a scheduled revocation's alarm when usage arms its own", async () => {
    const h = harness();
    const org = ORG();
    const { id, key } = await createKey(h, org);
    const at = Date.now() + 3_600_000;
    const res = await h.send(`/_keyward/v1/orgs/${org}/keys/${id}/revoke`, {
      method: "POST",
      headers: await admin(org),
      body: JSON.stringify({ at: new Date(at).toISOString() }),
    });
    expect(res.status).toBe(200);
    expect((await h.call(key)).status).toBe(200);
    // The report comes first (its alarm set with the admission's write); after it, the alarm is the revocation's again.
    const first = await runInDurableObject(guardStub(id), (guard: KeyGuard, state) => {
      KeyGuard.hooks(guard).flush();
      return state.storage.getAlarm();
    });
    expect(first).toBeLessThan(at);
    await tick(id, Date.now() + REPORT_DELAY_MS);
    expect(await runInDurableObject(guardStub(id), (_g: KeyGuard, state) => state.storage.getAlarm())).toBe(at);
  });
});

function ledgerKey(i: number, overrides: Partial<LedgerKey> = {}): LedgerKey {
  return seededKey(i, {
    // Many keys share a creation time, so the cursor's tie-break on id is exercised.
    createdAt: SEEDED_AT + Math.floor(i / 7),
    revokedAt: i % 10 === 0 ? 1_790_000_100_000 : null,
    ...overrides,
  });
}

async function seedLedger(org: string, n: number) {
  await runInDurableObject(ledgerStub(org), (ledger: OrgLedger) => {
    for (let i = 0; i < n; i++) {
      const k = ledgerKey(i);
      ledger.addKey(k, { at: k.createdAt, actor: "user:seed", action: "key.created", keyId: k.id, requestId: "seed", detail: {} });
    }
    const sql = (ledger as unknown as { ctx: DurableObjectState }).ctx.storage.sql;
    // Some keys have been used (as their guards would have reported).
    for (let i = 0; i < n; i += 3) {
      sql.exec(
        "INSERT INTO key_usage (key_id, last_used_at, locations, reported_at, reports) VALUES (?, ?, '{}', 0, 1)",
        ledgerKey(i).id,
        1_795_000_000_000 + (i % 50),
      );
    }
  });
}

type Page = { keys: { id: string; status: string; environment: string; lastUsedAt: string | null }[]; nextCursor: string | null };

describe("paginated key listing", () => {
  it("lists 5,000 keys with one ledger call and no guard call per page, every key exactly once", async () => {
    const org = ORG();
    await seedLedger(org, 5_000);
    const ledgerCalls: Record<string, number> = {};
    const h = harness({ ledgers: countingNamespace(env.ORG_LEDGER, ledgerCalls) });
    const headers = await admin(org);
    for (const sort of ["created", "lastUsed"]) {
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const before = { ledger: Object.values(ledgerCalls).reduce((a, b) => a + b, 0), guard: h.calls.guard.length };
        const query: string = `?limit=1000&sort=${sort}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
        const res = await h.send(`/_keyward/v1/orgs/${org}/keys${query}`, { headers });
        expect(res.status).toBe(200);
        const page = (await res.json()) as Page;
        expect(Object.values(ledgerCalls).reduce((a, b) => a + b, 0) - before.ledger).toBe(1);
        expect(h.calls.guard.length - before.guard).toBe(0);
        seen.push(...page.keys.map((k) => k.id));
        cursor = page.nextCursor;
        pages++;
      } while (cursor !== null);
      expect(pages).toBe(5);
      expect(seen).toHaveLength(5_000);
      expect(new Set(seen).size).toBe(5_000);
      if (sort === "lastUsed") {
        // Used keys first (most recent first), never-used last.
        const firstUnused = seen.findIndex((id) => Number.parseInt(id.slice(4), 16) % 3 !== 0);
        expect(seen.slice(firstUnused).every((id) => Number.parseInt(id.slice(4), 16) % 3 !== 0)).toBe(true);
      }
    }
    expect(ledgerCalls).toEqual({ listKeyPage: 10 });
  });

  it("filters by status and environment, defaults to 100 a page, and shows last use from the ledger", async () => {
    const org = ORG();
    await seedLedger(org, 250);
    const h = harness();
    const headers = await admin(org);
    const get = async (q: string) => {
      const res = await h.send(`/_keyward/v1/orgs/${org}/keys${q}`, { headers });
      expect(res.status).toBe(200);
      return (await res.json()) as Page;
    };
    const first = await get("");
    expect(first.keys).toHaveLength(100);
    expect(first.nextCursor).not.toBeNull();
    const revoked = await get("?status=revoked&limit=1000");
    expect(revoked.keys).toHaveLength(25);
    expect(revoked.keys.every((k) => k.status === "revoked")).toBe(true);
    expect(revoked.nextCursor).toBeNull();
    const testActive = await get("?status=active&environment=test&limit=1000");
    expect(testActive.keys.every((k) => k.environment === "test" && k.status === "active")).toBe(true);
    expect(testActive.keys).toHaveLength(125);
    const used = (await get("?sort=lastUsed&limit=1")).keys[0];
    expect(used?.lastUsedAt).toBe(new Date(1_795_000_000_000 + 49).toISOString());
    expect(h.calls.guard).toEqual([]);
  });

  it.each([
    ["?limit=0", "limit"],
    ["?limit=1001", "limit"],
    ["?limit=ten", "limit"],
    ["?status=lost", "status"],
    ["?environment=prod", "environment"],
    ["?sort=name", "sort"],
    ["?cursor=bm90LWEtY3Vyc29y", "cursor"],
    ["?colour=red", "colour"],
    ["?limit=1&limit=2", "limit"],
  ])("answers %s with 400 naming %s", async (query, field) => {
    const org = ORG();
    const h = harness();
    const res = await h.send(`/_keyward/v1/orgs/${org}/keys${query}`, { headers: await admin(org) });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: "INVALID_REQUEST", field });
  });
});
