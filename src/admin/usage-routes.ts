import type { Hono } from "hono";
import { KeywardError } from "../errors";
import type { GuardClient } from "../guard/guard-client";
import type { KeywardEnv } from "../http/keyward-env";
import type { Anomaly } from "../ledger/anomaly-store";
import type { LedgerClient } from "../ledger/ledger-client";
import type { ListedKey } from "../ledger/org-ledger";
import type { BucketView, Granularity } from "../usage/usage-book";
import { DAY_MS, HOUR_MS, RETENTION, SPAN_MS } from "../usage/usage-book";
import type { Actor } from "./admin-auth";
import { requireOrgAdmin, requireOrgUser } from "./admin-auth";
import { iso, settingsOfLedger } from "./key-view";
import { anomalyListQuery, emptyBody, keyUsageQuery, orgUsageQuery, readBody, readQuery } from "./schemas";

export interface UsageRoutesOptions {
  ledger: LedgerClient;
  guards: GuardClient;
  now: () => number;
  actor: (c: { req: { header(name: string): string | undefined } }) => Promise<Actor>;
  orgOf: (raw: string) => string;
  findKey: (org: string, id: string) => Promise<ListedKey>;
}

/** Default look-back of each granularity when `from` is not given. */
const DEFAULT_RANGE_MS: Record<Granularity, number> = { minute: HOUR_MS, hour: 24 * HOUR_MS, day: 30 * DAY_MS };

/** [from, to) from the query, within what is kept at this granularity; a 400 names the parameter at fault. */
function rangeOf(q: { from?: string | undefined; to?: string | undefined }, granularity: Granularity, now: number): { from: number; to: number } {
  const to = q.to === undefined ? now + 1 : Date.parse(q.to);
  const from = q.from === undefined ? to - DEFAULT_RANGE_MS[granularity] : Date.parse(q.from);
  if (from >= to) throw new KeywardError("INVALID_REQUEST", "from: must be before to", { field: "from" });
  const kept = RETENTION[granularity] * SPAN_MS[granularity];
  if (to - from > kept + SPAN_MS[granularity]) {
    throw new KeywardError(
      "INVALID_REQUEST",
      `from: at most ${RETENTION[granularity]} ${granularity}s are kept; narrow the range or use a coarser granularity`,
      {
        field: "from",
      },
    );
  }
  return { from, to };
}

const bucketView = (b: BucketView) => ({ start: iso(b.start) as string, admitted: b.admitted, refused: b.refused });

const anomalyView = (a: Anomaly) => ({
  ...a,
  firstSeenAt: iso(a.firstSeenAt) as string,
  lastSeenAt: iso(a.lastSeenAt) as string,
  acknowledgedAt: iso(a.acknowledgedAt),
});

const ANOMALY_ID = /^anm_[0-9a-f]{20}$/;
const KEY_ID = /^key_[0-9a-f]{20}$/;

/**
 * Usage and anomaly routes (docs/usage.md). Org views read the org's ledger
 * only (one call, whatever the number of keys); a key's minute view asks that
 * key's guard (one call) for counts that are fresh to the request. Members of
 * the org may read them; only admins acknowledge anomalies.
 */
export function usageRoutes(app: Hono<KeywardEnv>, options: UsageRoutesOptions): void {
  const { ledger } = options;

  app.get("/orgs/:org/keys/:id/usage", async (c) => {
    const org = options.orgOf(c.req.param("org"));
    requireOrgUser(await options.actor(c), org);
    const q = readQuery(c.req.url, keyUsageQuery);
    const now = options.now();
    const { from, to } = rangeOf(q, q.granularity, now);
    if (q.granularity === "minute") {
      const key = await options.findKey(org, c.req.param("id"));
      const fresh = await options.guards.usage(settingsOfLedger(key), { granularity: "minute", from, to });
      return c.json({
        keyId: key.id,
        granularity: q.granularity,
        buckets: fresh.buckets.map(bucketView),
        locations: fresh.locations,
        lastUsedAt: iso(fresh.lastUsedAt ?? key.lastUsedAt),
        reportedAt: iso(now),
      });
    }
    // Hour and day views: one ledger call, which also says whether the org has the key.
    const id = c.req.param("id");
    const usage = KEY_ID.test(id) ? await ledger.keyUsage(org, id, q.granularity, from, to) : null;
    if (usage === null) throw new KeywardError("NOT_FOUND", "No such key in this organisation.");
    return c.json({
      keyId: usage.key.id,
      granularity: q.granularity,
      buckets: usage.buckets.map(bucketView),
      locations: usage.locations,
      lastUsedAt: iso(usage.key.lastUsedAt),
      reportedAt: iso(usage.reportedAt),
    });
  });

  app.get("/orgs/:org/usage", async (c) => {
    const org = options.orgOf(c.req.param("org"));
    requireOrgUser(await options.actor(c), org);
    const q = readQuery(c.req.url, orgUsageQuery);
    const { from, to } = rangeOf(q, q.granularity, options.now());
    const usage = await ledger.orgUsage(org, q.granularity, from, to);
    return c.json({ org, granularity: q.granularity, totals: usage.totals, buckets: usage.buckets.map(bucketView), topKeys: usage.topKeys });
  });

  app.get("/orgs/:org/anomalies", async (c) => {
    const org = options.orgOf(c.req.param("org"));
    requireOrgUser(await options.actor(c), org);
    const q = readQuery(c.req.url, anomalyListQuery);
    return c.json({ anomalies: (await ledger.anomalies(org, q.status)).map(anomalyView) });
  });

  app.post("/orgs/:org/anomalies/:id/acknowledge", async (c) => {
    const org = options.orgOf(c.req.param("org"));
    const by = requireOrgAdmin(await options.actor(c), org);
    await readBody(c.req.raw, emptyBody);
    const id = c.req.param("id");
    const notFound = () => new KeywardError("NOT_FOUND", "No such anomaly in this organisation.");
    if (!ANOMALY_ID.test(id)) throw notFound();
    const anomaly = await ledger.acknowledgeAnomaly(org, id, by, c.get("requestId"), options.now());
    if (anomaly === null) throw notFound();
    return c.json(anomalyView(anomaly));
  });
}

/** Paths and methods of these routes, for the admin API's 405 table. */
export const USAGE_ROUTES: [string, string][] = [
  ["/orgs/:org/keys/:id/usage", "GET"],
  ["/orgs/:org/usage", "GET"],
  ["/orgs/:org/anomalies", "GET"],
  ["/orgs/:org/anomalies/:id/acknowledge", "POST"],
];
