/**
 * The admin API's usage and anomaly schemas (GET …/usage, …/anomalies): the
 * queries and the views, validated and documented from here (admin-routes.ts).
 */
import * as z from "zod";
import { ANOMALY_TYPES } from "../usage/anomaly-rules";
import { isoTime, keyName } from "./schemas";

const usageCounts = { admitted: z.number().int(), refused: z.record(z.string(), z.number().int()).describe("refusals by error code") };
const usageBucket = z.object({ start: isoTime, ...usageCounts });
const usageRange = {
  from: isoTime.optional().describe("start of the range (default: 1 h back for minute, 24 h for hour, 30 days for day)"),
  to: isoTime.optional().describe("end of the range, exclusive (default: now)"),
};

/** Query of GET /orgs/{org}/keys/{id}/usage. */
export const keyUsageQuery = z.strictObject({
  granularity: z.enum(["minute", "hour", "day"]).default("hour").describe("minute: fresh from the key's guard (last 60 min); hour, day: as last reported"),
  ...usageRange,
});
/** Query of GET /orgs/{org}/usage. */
export const orgUsageQuery = z.strictObject({ granularity: z.enum(["hour", "day"]).default("hour"), ...usageRange });

export const keyUsageView = z.object({
  keyId: z.string(),
  granularity: z.enum(["minute", "hour", "day"]),
  buckets: z.array(usageBucket).describe("buckets with traffic, oldest first; empty ones are left out"),
  locations: z.object({ countries: z.array(z.string()), asns: z.array(z.string()), colos: z.array(z.string()) }),
  lastUsedAt: isoTime.nullable(),
  reportedAt: isoTime.nullable().describe("when the key's guard last reported (hour and day views are as fresh as this)"),
});
export const orgUsageView = z.object({
  org: z.string(),
  granularity: z.enum(["hour", "day"]),
  totals: z.object(usageCounts),
  buckets: z.array(usageBucket),
  topKeys: z.array(z.object({ keyId: z.string(), ...keyName, admitted: z.number().int(), refused: z.number().int() })),
});

export const anomalyView = z.object({
  id: z.string(),
  type: z.enum(ANOMALY_TYPES),
  keyId: z.string(),
  ...keyName,
  message: z.string().describe("what was seen, in a sentence"),
  details: z.record(z.string(), z.unknown()).describe("the numbers behind it"),
  firstSeenAt: isoTime,
  lastSeenAt: isoTime,
  acknowledgedAt: isoTime.nullable(),
  acknowledgedBy: z.string().nullable(),
});
export const anomalyListQuery = z.strictObject({ status: z.enum(["open", "acknowledged", "all"]).default("open") });
export const anomalyList = z.object({ anomalies: z.array(anomalyView) });
