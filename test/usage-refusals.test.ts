// Refusals that come after a key's usage report reach storage like admissions do,
// without a row per refusal (issue 21, "Usage loses refusals"; threats.md 84): a
// guard evicted between the refusals and the read still counts them, in the key's
// minute view and, after its next report, in the org's roll-up.
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { KeyGuard } from "../src/guard/key-guard";
import { REFUSAL_SAVE_DELAY_MS } from "../src/guard/usage-reporter";
import { HOUR_MS, MINUTE_MS } from "../src/usage/usage-book";
import { QUIET_REPORT_PERIOD_MS, REPORT_DELAY_MS } from "../src/usage/usage-report";
import { adminClient, adminHeaders, newOrg } from "./support/admin-client";
import { guardStub } from "./support/harness";

type Bucket = { admitted: number; refused: Record<string, number> };
const sum = (buckets: Bucket[], code: string) => buckets.reduce((n, b) => n + (b.refused[code] ?? 0), 0);

/** The refusals the guard's stored usage row holds (what a wake reads back). */
const storedRefusals = (keyId: string) =>
  runInDurableObject(guardStub(keyId), (g: KeyGuard) => {
    const row = (g as unknown as { ctx: DurableObjectState }).ctx.storage.sql.exec("SELECT data FROM usage WHERE id = 1").toArray()[0];
    if (!row) return 0;
    const usage = JSON.parse(String(row.data)) as { minutes: Bucket[] };
    return sum(usage.minutes, "RATE_LIMITED");
  });

describe("84. refusals after a usage report survive an eviction", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("counts 100 refusals that followed a report in the minute view and the org roll-up after the guard was evicted, with one row written for them", async () => {
    // One clock for the test and the guard (Date faked, timers real): the refusals come after the
    // report on it, as they would on a real clock. With real requests and a report at a made-up
    // later time, an hour boundary between them left the refusals out of the report's hours.
    // Ten minutes into an hour ahead of the real clock, so no alarm the guard arms fires by itself.
    const start = Math.ceil(Date.now() / HOUR_MS) * HOUR_MS + 10 * MINUTE_MS;
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(start);
    const client = adminClient();
    const org = newOrg();
    const { id, key } = await client.create(org);
    const headers = await adminHeaders(org);
    const stub = guardStub(id);
    // A full window (the default 60), then its report.
    for (let i = 0; i < 60; i++) expect((await client.h.call(key)).status).toBe(200);
    await runInDurableObject(stub, (g: KeyGuard) => KeyGuard.hooks(g).flush());
    const reportedAt = start + REPORT_DELAY_MS + 1_000;
    vi.setSystemTime(reportedAt);
    await runInDurableObject(stub, (g: KeyGuard) => KeyGuard.hooks(g).runAlarm(reportedAt));
    const rowsBefore = (await stub.describe({ keyId: id, version: 1, limit: 60, windowSeconds: 60, expiresAt: null, revoked: false, revokeAt: null }))
      .rowsWritten;

    vi.setSystemTime(reportedAt + 1_000);
    const statuses = await Promise.all(Array.from({ length: 100 }, () => client.h.call(key).then((r) => r.status)));
    expect(statuses.filter((s) => s === 429)).toHaveLength(100);
    expect(client.h.calls.origin).toHaveLength(60);
    // Written by the guard within REFUSAL_SAVE_DELAY_MS, without a request to prompt it (polled, not slept).
    await vi.waitFor(async () => expect(await storedRefusals(id)).toBe(100), { timeout: REFUSAL_SAVE_DELAY_MS * 5, interval: 100 });
    const rowsAfter = (await stub.describe({ keyId: id, version: 1, limit: 60, windowSeconds: 60, expiresAt: null, revoked: false, revokeAt: null }))
      .rowsWritten;
    expect(rowsAfter - rowsBefore).toBe(1);

    await evictDurableObject(stub);
    const minute = (await (await client.api(`/orgs/${org}/keys/${id}/usage?granularity=minute`, { headers })).json()) as { buckets: Bucket[] };
    expect(minute.buckets.reduce((n, b) => n + b.admitted, 0)).toBe(60);
    expect(sum(minute.buckets, "RATE_LIMITED")).toBe(100);

    // The woken guard still owes a report of them: its next one takes them to the ledger
    // (a woken guard does not know its last report's size, so it waits a quiet key's period).
    const nextReport = reportedAt + QUIET_REPORT_PERIOD_MS + 1_000;
    vi.setSystemTime(nextReport);
    await runInDurableObject(stub, (g: KeyGuard) => KeyGuard.hooks(g).runAlarm(nextReport));
    const rollUp = (await (await client.api(`/orgs/${org}/usage`, { headers })).json()) as { totals: Bucket; topKeys: { keyId: string; refused: number }[] };
    expect(rollUp.totals.admitted).toBe(60);
    expect(rollUp.totals.refused).toEqual({ RATE_LIMITED: 100 });
    expect(rollUp.topKeys.find((k) => k.keyId === id)?.refused).toBe(100);
  });

  it("counts a revoked key still being tried (refusals decided before the guard) after an eviction", async () => {
    // The gateway notes a revoked key's refusals to its guard once a second per isolate: a second apart, each is noted.
    let now = Date.now();
    const client = adminClient({ now: () => now });
    const org = newOrg();
    const { id, key } = await client.create(org);
    expect((await client.post(org, `/keys/${id}/revoke`)).status).toBe(200);
    for (let i = 0; i < 5; i++) {
      now += 1_001;
      expect((await client.h.call(key)).status).toBe(403);
    }
    await client.h.settle();
    await vi.waitFor(
      async () => {
        const stored = await runInDurableObject(guardStub(id), (g: KeyGuard) => {
          const row = (g as unknown as { ctx: DurableObjectState }).ctx.storage.sql.exec("SELECT data FROM usage WHERE id = 1").toArray()[0];
          return row ? sum((JSON.parse(String(row.data)) as { minutes: Bucket[] }).minutes, "KEY_REVOKED") : 0;
        });
        expect(stored).toBe(5);
      },
      { timeout: REFUSAL_SAVE_DELAY_MS * 5, interval: 100 },
    );
    await evictDurableObject(guardStub(id));
    const minute = (await (await client.api(`/orgs/${org}/keys/${id}/usage?granularity=minute`, { headers: await adminHeaders(org) })).json()) as {
      buckets: Bucket[];
    };
    expect(sum(minute.buckets, "KEY_REVOKED")).toBe(5);
  });
});
