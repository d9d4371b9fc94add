import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { KeyGuard } from "../src/guard/key-guard";
import { UsageReporter } from "../src/guard/usage-reporter";
import type { UsageReport } from "../src/usage/usage-report";
import { guardStub } from "./support/harness";

// How often a key's guard reports to its org's ledger (docs/usage.md): once a
// minute while the key is busy, once per 4.5 minutes while it is quiet, so that a
// key used about once a minute no longer sends a report per request, and its
// lastUsedAt in listings is never more than 5 minutes behind. A fake clock: the
// reporter takes `now`, and the guard's alarm is played at each report's due time.

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** Requests at `times`, with the alarm run whenever a report comes due: the reports sent, and the longest any request waited for one. */
async function play(times: number[], until: number) {
  return runInDurableObject(guardStub(`key_period_${crypto.randomUUID()}`), async (_g: KeyGuard, state) => {
    const sent: UsageReport[] = [];
    const ledgers = { idFromName: (name: string) => name, get: () => ({ report: async (r: UsageReport) => void sent.push(r) }) };
    const reporter = new UsageReporter({ ...env, ORG_LEDGER: ledgers as unknown as typeof env.ORG_LEDGER }, state.storage.sql, null);
    const alarmsUntil = async (t: number) => {
      for (let due = reporter.nextReportAt(); due !== null && due <= t; due = reporter.nextReportAt()) await reporter.reportIfDue(due);
    };
    let fromRequests = 0;
    for (const t of times) {
      await alarmsUntil(t);
      // As the guard does (key-guard.ts count): a key quiet longer than its period reports from the request.
      const first = reporter.count(t, { admitted: true }, { org: "org_period" }, "key_period");
      if (first && reporter.reportsFromRequest(t)) {
        fromRequests++;
        await reporter.reportFromRequest(t, () => undefined);
      }
    }
    await alarmsUntil(until);
    // Each request is in the first report made at or after it.
    const waited = times.map((t) => (sent.find((r) => r.at >= t)?.at ?? Number.POSITIVE_INFINITY) - t);
    return { reports: sent.length, longestWait: Math.max(...waited), fromRequests };
  });
}

describe("usage report period", () => {
  const t0 = Date.now();

  it("reports a key used once a minute 15 times in its hour (and the tail), not 60, each request within 4.5 minutes", async () => {
    const { reports, longestWait } = await play(
      Array.from({ length: 60 }, (_, i) => t0 + i * MINUTE),
      t0 + HOUR + 10 * MINUTE,
    );
    expect(reports).toBeLessThanOrEqual(15);
    expect(reports).toBeGreaterThanOrEqual(13);
    expect(longestWait).toBeLessThanOrEqual(270_000);
  });

  it("reports a busy key (once a second) once a minute once its first report showed it busy", async () => {
    const { reports, longestWait } = await play(
      Array.from({ length: 3600 }, (_, i) => t0 + i * 1_000),
      t0 + HOUR + 10 * MINUTE,
    );
    // The first report (5 s after the first request) carries 6 requests: quiet, so the second
    // comes 4.5 minutes later; it carries 270, and from then on one a minute.
    expect(reports).toBeGreaterThanOrEqual(56);
    expect(reports).toBeLessThanOrEqual(60);
    expect(longestWait).toBeLessThanOrEqual(270_000);
  });

  it("reports a key used once an hour once per request: the first from its alarm 5 s after it, the rest from the request itself", async () => {
    const { reports, longestWait, fromRequests } = await play(
      Array.from({ length: 24 }, (_, i) => t0 + i * HOUR),
      t0 + 25 * HOUR,
    );
    expect(reports).toBe(24);
    // No report yet: the first waits for the alarm (a new key's first requests often come in a burst).
    expect(longestWait).toBe(5_000);
    expect(fromRequests).toBe(23);
  });

  it("reports from the request only once the key has been quiet a whole quiet period since its last report", async () => {
    // Every 4 minutes: the alarm's report comes 4.5 minutes after the last, before each next request.
    const every4 = await play(
      Array.from({ length: 15 }, (_, i) => t0 + i * 4 * MINUTE),
      t0 + HOUR + 10 * MINUTE,
    );
    expect(every4.fromRequests).toBe(0);
    // Every 10 minutes, each request after the first reports itself.
    const every10 = await play(
      Array.from({ length: 6 }, (_, i) => t0 + i * 10 * MINUTE),
      t0 + HOUR + 10 * MINUTE,
    );
    expect(every10).toEqual({ reports: 6, longestWait: 5_000, fromRequests: 5 });
  });
});
