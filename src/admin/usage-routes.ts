import { KeywardError } from "../errors";
import type { GuardClient } from "../guard/guard-client";
import type { RouteTable } from "../http/route-table";
import type { Anomaly } from "../ledger/anomaly-store";
import type { KeyName } from "../ledger/key-names";
import type { ListedKey } from "../ledger/key-store";
import type { LedgerClient } from "../ledger/ledger-client";
import type { BucketView, Granularity } from "../usage/usage-book";
import { DAY_MS, HOUR_MS, RETENTION, SPAN_MS } from "../usage/usage-book";
import type { Actor } from "./admin-auth";
import { acknowledgeRoute, anomaliesRoute, keyUsageRoute, orgUsageRoute } from "./admin-routes";
import { iso, settingsOfLedger } from "./key-view";

export interface UsageRoutesOptions {
  ledger: LedgerClient;
  guards: GuardClient;
  now: () => number;
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

const anomalyView = (a: Anomaly & KeyName) => ({
  ...a,
  firstSeenAt: iso(a.firstSeenAt) as string,
  lastSeenAt: iso(a.lastSeenAt) as string,
  acknowledgedAt: iso(a.acknowledgedAt),
});

/**
 * Usage and anomaly routes (docs/usage.md). Org views read the org's ledger
 * only (one call, whatever the number of keys); a key's minute view asks that
 * key's guard (one call) for counts that are fresh to the request. Members of
 * the org may read them; only admins acknowledge anomalies.
 */
export function usageRoutes(table: RouteTable<{ actor: Actor; by: string }>, options: UsageRoutesOptions): void {
  const { ledger } = options;

  table.add(keyUsageRoute, async (_c, { params: { org, id }, query: q }) => {
    const now = options.now();
    const { from, to } = rangeOf(q, q.granularity, now);
    if (q.granularity === "minute") {
      const key = await options.findKey(org, id);
      const fresh = await options.guards.usage(settingsOfLedger(key), { granularity: "minute", from, to });
      return {
        keyId: key.id,
        granularity: q.granularity,
        buckets: fresh.buckets.map(bucketView),
        locations: fresh.locations,
        lastUsedAt: iso(fresh.lastUsedAt ?? key.lastUsedAt),
        reportedAt: iso(now),
      };
    }
    // Hour and day views: one ledger call, which also says whether the org has the key.
    const usage = await ledger.keyUsage(org, id, q.granularity, from, to);
    if (usage === null) throw new KeywardError("NOT_FOUND", "No such key in this organisation.");
    return {
      keyId: usage.key.id,
      granularity: q.granularity,
      buckets: usage.buckets.map(bucketView),
      locations: usage.locations,
      lastUsedAt: iso(usage.key.lastUsedAt),
      reportedAt: iso(usage.reportedAt),
    };
  });

  table.add(orgUsageRoute, async (_c, { params: { org }, query: q }) => {
    const { from, to } = rangeOf(q, q.granularity, options.now());
    const usage = await ledger.orgUsage(org, q.granularity, from, to);
    return {
      org,
      granularity: q.granularity,
      totals: usage.totals,
      buckets: usage.buckets.map(bucketView),
      // Named for every reader: each may list the org's keys (members read-only, threats.md 52).
      topKeys: usage.topKeys,
    };
  });

  table.add(anomaliesRoute, async (_c, { params: { org }, query: q }) => ({
    anomalies: (await ledger.anomalies(org, q.status)).map(anomalyView),
  }));

  table.add(acknowledgeRoute, async (c, { params: { org, id }, who: { by } }) => {
    // Only admins acknowledge, and they may list keys: the name stays.
    const anomaly = await ledger.acknowledgeAnomaly(org, id, by, c.get("requestId"), options.now());
    if (anomaly === null) throw new KeywardError("NOT_FOUND", "No such anomaly in this organisation.");
    return anomalyView(anomaly);
  });
}
