import type { AnomalyList, AnomalyView, KeyUsage, OrgUsage } from "../../../admin/api-types";
import type { AdminClient } from "../api";

/** The usage and anomaly routes of the admin API (docs/usage.md), typed with the server's shapes. */
export type Granularity = KeyUsage["granularity"];
export type AnomalyStatus = "open" | "acknowledged" | "all";

/** One key's buckets: minute is fresh from its guard, hour and day as last reported to the ledger. */
export const keyUsage = (api: AdminClient, id: string, granularity: Granularity): Promise<KeyUsage> =>
  api.call("GET", `/keys/${encodeURIComponent(id)}/usage?granularity=${granularity}`);

/** The organisation's totals, hourly buckets (last 24 h) and busiest keys. */
export const orgUsage = (api: AdminClient): Promise<OrgUsage> => api.call("GET", "/usage?granularity=hour");

export async function anomalies(api: AdminClient, status: AnomalyStatus = "open"): Promise<AnomalyView[]> {
  return (await api.call<AnomalyList>("GET", `/anomalies?status=${status}`)).anomalies;
}

/** Marks a flag as seen by this admin (audited as anomaly.acknowledged); a member gets 403. */
export const acknowledge = (api: AdminClient, id: string): Promise<AnomalyView> => api.call("POST", `/anomalies/${encodeURIComponent(id)}/acknowledge`, {});
