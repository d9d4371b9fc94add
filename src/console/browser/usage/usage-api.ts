import type { AnomalyView, KeyUsage, OrgUsage } from "../../../admin/api-types";
import { acknowledgeRoute, anomaliesRoute, keyUsageRoute, orgUsageRoute } from "../../../admin/route-refs.js";
import type { AdminClient } from "../api";
import { rangeStart, USAGE_RANGES, type UsageRange } from "./series";

/** The usage and anomaly routes of the admin API (docs/usage.md), typed with the server's shapes. */
export type Granularity = KeyUsage["granularity"];
export type AnomalyStatus = "open" | "acknowledged" | "all";

/** One key's buckets: minute is fresh from its guard, hour and day as last reported to the ledger. */
export const keyUsage = (api: AdminClient, id: string, granularity: Granularity): Promise<KeyUsage> =>
  api.call(keyUsageRoute, { params: { id }, query: { granularity } });

/** The organisation's totals, buckets and busiest keys over one of the console's ranges (one ledger call). */
export function orgUsage(api: AdminClient, range: UsageRange, now: number): Promise<OrgUsage> {
  const { granularity, span, count } = USAGE_RANGES[range];
  return api.call(orgUsageRoute, { query: { granularity, from: new Date(rangeStart(span, count, now)).toISOString() } });
}

export async function anomalies(api: AdminClient, status: AnomalyStatus = "open"): Promise<AnomalyView[]> {
  return (await api.call(anomaliesRoute, { query: { status } })).anomalies;
}

/** Marks a flag as seen by this admin (audited as anomaly.acknowledged); a member gets 403. */
export const acknowledge = (api: AdminClient, id: string): Promise<AnomalyView> => api.call(acknowledgeRoute, { params: { id }, body: {} });
