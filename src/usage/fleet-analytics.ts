/**
 * Fleet analytics on Workers Analytics Engine (optional binding USAGE_ANALYTICS,
 * docs/usage.md): one data point per gateway request, written without waiting
 * (writeDataPoint queues it and returns), never holding a key or a hash.
 */

/** What the gateway learnt of a request as it went: filled in as each fact is known. */
export interface RequestFacts {
  org: string | null;
  keyId: string | null;
  environment: "live" | "test" | null;
}

export interface DataPoint extends RequestFacts {
  /** "OK" for a forwarded request, else the refusal's error code. */
  outcome: string;
  status: number;
  method: string;
  country: string | null;
  latencyMs: number;
}

/**
 * The data point's layout, which the queries below rely on:
 * index1 = org (Analytics Engine samples per index value);
 * blob1 org, blob2 key id, blob3 environment, blob4 outcome, blob5 method, blob6 country;
 * double1 status, double2 latency in ms.
 */
export function writeDataPoint(dataset: AnalyticsEngineDataset, point: DataPoint): void {
  try {
    dataset.writeDataPoint({
      indexes: [point.org ?? ""],
      blobs: [point.org ?? "", point.keyId ?? "", point.environment ?? "", point.outcome, point.method, point.country ?? ""],
      doubles: [point.status, point.latencyMs],
    });
  } catch {
    // Analytics never decide or fail a request.
  }
}

export interface QueryOptions {
  /** The dataset name as declared in wrangler.toml. */
  dataset: string;
  /** How far back, in hours (default 24). */
  sinceHours?: number;
  /** Only this org (default: all). */
  org?: string;
  /** Rows of the top-keys query (default 20). */
  limit?: number;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const ORG_ID = /^[A-Za-z0-9_-]{1,128}$/;

/**
 * The SQL-API queries behind the usual dashboards. Counts are SUM(_sample_interval),
 * so they stay right when Analytics Engine samples. Inputs are validated, not
 * escaped: a dataset must be an identifier, an org an org id.
 */
export function analyticsQueries(options: QueryOptions): { requestsPerOrgPerHour: string; topKeys: string; outcomesByCode: string } {
  const { dataset } = options;
  const hours = options.sinceHours ?? 24;
  const limit = options.limit ?? 20;
  if (!IDENTIFIER.test(dataset)) throw new Error("dataset: must be an identifier (letters, digits, _)");
  if (!Number.isInteger(hours) || hours < 1 || hours > 24 * 90) throw new Error("sinceHours: must be a whole number from 1 to 2160");
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new Error("limit: must be a whole number from 1 to 1000");
  if (options.org !== undefined && !ORG_ID.test(options.org)) throw new Error("org: must be an org id (letters, digits, _ and -)");
  const where = `timestamp > NOW() - INTERVAL '${hours}' HOUR${options.org === undefined ? "" : ` AND blob1 = '${options.org}'`}`;
  return {
    requestsPerOrgPerHour: [
      "SELECT toStartOfInterval(timestamp, INTERVAL '1' HOUR) AS hour, blob1 AS org, SUM(_sample_interval) AS requests",
      `FROM ${dataset}`,
      `WHERE ${where}`,
      "GROUP BY hour, org",
      "ORDER BY hour, requests DESC",
    ].join("\n"),
    topKeys: [
      "SELECT blob1 AS org, blob2 AS key_id, SUM(_sample_interval) AS requests,",
      "  SUM(IF(blob4 = 'OK', _sample_interval, 0)) AS admitted, SUM(IF(blob4 != 'OK', _sample_interval, 0)) AS refused",
      `FROM ${dataset}`,
      `WHERE ${where} AND blob2 != ''`,
      "GROUP BY org, key_id",
      "ORDER BY requests DESC",
      `LIMIT ${limit}`,
    ].join("\n"),
    outcomesByCode: [
      "SELECT blob4 AS outcome, SUM(_sample_interval) AS requests, AVG(double2) AS avg_latency_ms",
      `FROM ${dataset}`,
      `WHERE ${where}`,
      "GROUP BY outcome",
      "ORDER BY requests DESC",
    ].join("\n"),
  };
}
