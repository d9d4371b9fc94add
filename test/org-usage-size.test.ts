import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { OrgLedger } from "../src/ledger/org-ledger";
import { storeReport } from "../src/ledger/usage-store";
import { DAY_MS, floorTo, HOUR_MS } from "../src/usage/usage-book";
import { countingNamespace } from "../test-support/counting";
import { harness } from "./support/harness";
import { seededKey } from "./support/ledger-keys";
import { withSqlWatched } from "./support/sql-spy";
import { devToken } from "./support/tokens";

// The org usage view on a large org (issue 23, "org views at size"): one ledger
// call whatever the number of keys, and what that call reads inside workerd.

const KEYS = 10_000;
const ledgerStub = (org: string) => env.ORG_LEDGER.get(env.ORG_LEDGER.idFromName(org));

describe("org usage view at 10,000 keys", () => {
  it("answers the 24-hour view in one ledger call, reading each key's day rows of the range once", { timeout: 120_000 }, async () => {
    const org = `org_${crypto.randomUUID().slice(0, 8)}`;
    const now = Date.now();
    const hour = floorTo(now, HOUR_MS);
    // Every key used in each of the last 24 hours (the view's whole range): the most the view can read.
    const hours = 24;
    await runInDurableObject(ledgerStub(org), (ledger: OrgLedger, state) => {
      for (let i = 0; i < KEYS; i++) {
        const key = seededKey(i);
        ledger.addKey(key, { at: key.createdAt, actor: "user:seed", action: "key.created", keyId: key.id, requestId: "seed", detail: {} });
      }
      state.storage.transactionSync(() => {
        for (let i = 0; i < KEYS; i++) {
          storeReport(state.storage.sql, {
            keyId: seededKey(i).id,
            at: now,
            lastUsedAt: now,
            hours: Array.from({ length: hours }, (_, h) => ({
              start: hour - h * HOUR_MS,
              admitted: 1 + (i % 7),
              refused: (i % 3 === 0 ? { RATE_LIMITED: 1 } : {}) as Record<string, number>,
            })),
            days: [],
            locations: { countries: [], asns: [], colos: [] },
            anomalies: [],
          });
        }
      });
    });

    const ledgerCalls: Record<string, number> = {};
    const h = harness({ ledgers: countingNamespace(env.ORG_LEDGER, ledgerCalls) });
    const token = await devToken({ org, role: "org:member" });
    const started = Date.now();
    const res = await h.send(`/_keyward/v1/orgs/${org}/usage?granularity=hour`, { headers: { authorization: `Bearer ${token}` } });
    const ms = Date.now() - started;
    // The same query inside the ledger, its SQL watched: what the call reads.
    const read = await runInDurableObject(ledgerStub(org), (ledger: OrgLedger, state) => {
      const seen = { rows: 0, statements: 0 };
      withSqlWatched(
        state,
        (_query, cursor) => {
          seen.rows += cursor.rowsRead;
          seen.statements++;
        },
        () => ledger.orgUsage("hour", now - 24 * HOUR_MS, now + 1),
      );
      return seen;
    });
    console.log(`org usage, ${KEYS} keys x ${hours} hours: ${read.rows} rows read in ${read.statements} statements, ${ms} ms for the request`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { totals: { admitted: number }; buckets: unknown[]; topKeys: { keyId: string }[] };
    expect(ledgerCalls).toEqual({ orgUsage: 1 });
    expect(h.calls.guard).toHaveLength(0);
    let admitted = 0;
    for (let i = 0; i < KEYS; i++) admitted += (1 + (i % 7)) * hours;
    expect(body.totals.admitted).toBe(admitted);
    expect(body.buckets).toHaveLength(hours);
    expect(body.topKeys).toHaveLength(10);
    // The range's day rows (through the day index: 24 hours span at most two days) and the ten names:
    // nothing per key beyond its rows. Before ledger schema 4, one row per hour bucket: 240,000.
    // The days of the seeded hours, not of the range: in the last hour of a UTC day the 24 seeded
    // hours (this hour and the 23 before it) all fall on that day, and the range's other day has no rows.
    const days = new Set(Array.from({ length: hours }, (_, h) => floorTo(hour - h * HOUR_MS, DAY_MS))).size;
    const bucketRows = KEYS * days;
    expect(read.rows).toBeGreaterThanOrEqual(bucketRows);
    expect(read.rows).toBeLessThan(bucketRows * 1.01 + 100);
  });
});
