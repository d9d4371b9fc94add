import { describe, expect, it } from "vitest";
import { analyticsQueries } from "../src/usage/fleet-analytics";
import { harness, seedKey } from "./support/harness";

function recordingDataset() {
  const points: AnalyticsEngineDataPoint[] = [];
  return { points, dataset: { writeDataPoint: (p?: AnalyticsEngineDataPoint) => void points.push(p ?? {}) } as AnalyticsEngineDataset };
}

describe("fleet analytics (Workers Analytics Engine)", () => {
  it("writes one data point per request, admitted or refused, with no key or hash in it", async () => {
    const { points, dataset } = recordingDataset();
    const h = harness({ analytics: dataset });
    const { key, hash, record } = await seedKey({ org: "org_fleet", limit: 1 });
    expect((await h.call(key, "/v1/things", { cf: { country: "NL" } } as RequestInit)).status).toBe(200);
    expect((await h.call(key)).status).toBe(429);
    expect((await h.call(`sk_live_${"0".repeat(40)}`)).status).toBe(401);
    expect(points).toHaveLength(3);
    expect(points[0]).toMatchObject({ indexes: ["org_fleet"], blobs: ["org_fleet", record.id, "live", "OK", "GET", "NL"] });
    expect(points[0]?.doubles?.[0]).toBe(200);
    expect(points[1]?.blobs?.slice(3, 4)).toEqual(["RATE_LIMITED"]);
    expect(points[1]?.doubles?.[0]).toBe(429);
    // Before any lookup: no org, no key id; only the outcome.
    expect(points[2]).toMatchObject({ indexes: [""], blobs: ["", "", "", "INVALID_API_KEY", "GET", ""] });
    const text = JSON.stringify(points);
    expect(text).not.toContain(key.slice(8));
    expect(text).not.toContain(hash);
  });

  it("changes nothing and writes nothing without the binding", async () => {
    const h = harness();
    const { key } = await seedKey();
    expect((await h.call(key)).status).toBe(200);
  });

  it("builds the dashboards' SQL for a dataset, over a period, optionally for one org", () => {
    const q = analyticsQueries({ dataset: "keyward_requests", sinceHours: 48, org: "org_acme", limit: 5 });
    expect(q.requestsPerOrgPerHour).toBe(
      [
        "SELECT toStartOfInterval(timestamp, INTERVAL '1' HOUR) AS hour, blob1 AS org, SUM(_sample_interval) AS requests",
        "FROM keyward_requests",
        "WHERE timestamp > NOW() - INTERVAL '48' HOUR AND blob1 = 'org_acme'",
        "GROUP BY hour, org",
        "ORDER BY hour, requests DESC",
      ].join("\n"),
    );
    expect(q.topKeys).toContain("LIMIT 5");
    expect(q.topKeys).toContain("blob2 != ''");
    expect(q.outcomesByCode).toContain("GROUP BY outcome");
    const all = analyticsQueries({ dataset: "ds" });
    expect(all.requestsPerOrgPerHour).toContain("WHERE timestamp > NOW() - INTERVAL '24' HOUR\n");
    expect(all.topKeys).toContain("LIMIT 20");
  });

  it.each([
    [{ dataset: "x; DROP TABLE y" }, "dataset"],
    [{ dataset: "ds", org: "o' OR '1'='1" }, "org"],
    [{ dataset: "ds", sinceHours: 0 }, "sinceHours"],
    [{ dataset: "ds", limit: 5000 }, "limit"],
  ])("refuses %o naming %s", (options, field) => {
    expect(() => analyticsQueries(options)).toThrow(field);
  });
});
