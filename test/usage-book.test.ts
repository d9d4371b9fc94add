import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { agentFamily, describeCaller } from "../src/usage/caller";
import {
  bucketsOf,
  type Caller,
  DAY_MS,
  emptyUsage,
  HOUR_MS,
  locationsOf,
  MINUTE_MS,
  markReported,
  PLACES_PER_DAY,
  parseUsage,
  pruneUsage,
  RETENTION,
  recordUsage,
} from "../src/usage/usage-book";
import { adminClient, adminHeaders, newOrg } from "./support/admin-client";

const T0 = Date.UTC(2027, 0, 4, 0, 0, 0);
const caller = (over: Partial<Caller> = {}): Caller => ({ country: "DE", asn: 3320, colo: "FRA", browser: false, agent: "curl", ...over });
const admitted = { admitted: true } as const;
const refused = (code: string) => ({ admitted: false, code }) as const;

describe("usage buckets (pure, fake clock)", () => {
  it("counts admitted and refused by code in the minute, hour and day of each request", () => {
    const s = emptyUsage();
    recordUsage(s, T0 + 1_000, admitted, null);
    recordUsage(s, T0 + 2_000, refused("RATE_LIMITED"), null);
    recordUsage(s, T0 + 61_000, refused("KEY_REVOKED"), null);
    recordUsage(s, T0 + 61_500, refused("RATE_LIMITED"), null);
    const to = T0 + DAY_MS;
    expect(bucketsOf(s, "minute", T0, to)).toEqual([
      { start: T0, admitted: 1, refused: { RATE_LIMITED: 1 } },
      { start: T0 + MINUTE_MS, admitted: 0, refused: { KEY_REVOKED: 1, RATE_LIMITED: 1 } },
    ]);
    expect(bucketsOf(s, "hour", T0, to)).toEqual([{ start: T0, admitted: 1, refused: { RATE_LIMITED: 2, KEY_REVOKED: 1 } }]);
    expect(bucketsOf(s, "day", T0, to)).toEqual([{ start: T0, admitted: 1, refused: { RATE_LIMITED: 2, KEY_REVOKED: 1 } }]);
    expect(s.lastUsedAt).toBe(T0 + 1_000);
  });

  it("keeps 60 minutes, 7 days of hours and 90 days", () => {
    const s = emptyUsage();
    for (let day = 0; day < 100; day++) for (let h = 0; h < 24; h++) recordUsage(s, T0 + day * DAY_MS + h * HOUR_MS, admitted, null);
    for (let m = 0; m < 90; m++) recordUsage(s, T0 + 100 * DAY_MS + m * MINUTE_MS, admitted, null);
    const now = T0 + 100 * DAY_MS + 89 * MINUTE_MS;
    pruneUsage(s, now);
    expect(s.minutes).toHaveLength(RETENTION.minute);
    expect(s.minutes[0]?.start).toBe(now - 59 * MINUTE_MS);
    expect(s.hours).toHaveLength(RETENTION.hour);
    expect(s.days).toHaveLength(RETENTION.day);
    expect(s.days[0]?.start).toBe(T0 + 11 * DAY_MS);
  });

  it("equals exactly what was recorded, whatever the order of outcomes and times (property)", () => {
    const event = fc.record({ at: fc.integer({ min: 0, max: 59 * MINUTE_MS }), code: fc.constantFrom(null, "RATE_LIMITED", "KEY_EXPIRED", "ORG_MISMATCH") });
    fc.assert(
      fc.property(fc.array(event, { maxLength: 200 }), (events) => {
        const s = emptyUsage();
        const sorted = [...events].sort((a, b) => a.at - b.at);
        for (const e of sorted) recordUsage(s, T0 + e.at, e.code === null ? admitted : refused(e.code), null);
        const minutes = bucketsOf(s, "minute", T0, T0 + HOUR_MS);
        const sum = (list: { admitted: number; refused: Record<string, number> }[], code: string | null) =>
          list.reduce((n, b) => n + (code === null ? b.admitted : (b.refused[code] ?? 0)), 0);
        for (const code of [null, "RATE_LIMITED", "KEY_EXPIRED", "ORG_MISMATCH"]) {
          const expected = events.filter((e) => e.code === code).length;
          expect(sum(minutes, code)).toBe(expected);
          expect(sum(bucketsOf(s, "hour", T0, T0 + HOUR_MS), code)).toBe(expected);
        }
      }),
    );
  });

  it("keeps at most a bounded set of places per day and counts the rest", () => {
    const s = emptyUsage();
    for (let i = 0; i < 20; i++) recordUsage(s, T0 + i, admitted, caller({ country: `C${i % 10}`, asn: 100 + i }));
    const day = s.places[0];
    expect(day?.countries.values).toHaveLength(PLACES_PER_DAY);
    expect(day?.countries.others).toBe(2 * (10 - PLACES_PER_DAY));
    expect(day?.asns.others).toBe(20 - PLACES_PER_DAY);
    expect(locationsOf(s).countries).toHaveLength(PLACES_PER_DAY);
    expect(locationsOf(s).colos).toEqual(["FRA"]);
  });

  it("remembers the longest silence broken since the last report", () => {
    const s = emptyUsage();
    recordUsage(s, T0, admitted, null);
    recordUsage(s, T0 + 40 * DAY_MS, admitted, null);
    expect(s.longestGap).toEqual({ gapMs: 40 * DAY_MS, previous: T0, at: T0 + 40 * DAY_MS });
    markReported(s, T0 + 40 * DAY_MS + 1);
    expect(s.longestGap).toBeNull();
    expect(s.fresh.admitted).toBe(0);
  });

  it("starts afresh from a stored copy it cannot read", () => {
    expect(parseUsage("{not json")).toBeNull();
    expect(parseUsage(JSON.stringify({ v: 2 }))).toBeNull();
    const s = emptyUsage();
    recordUsage(s, T0, admitted, caller());
    expect(parseUsage(JSON.stringify(s))).toEqual(s);
  });
});

describe("what the gateway knows of the caller", () => {
  it.each([
    [{ origin: "https://example.com" }, true],
    [{ "sec-fetch-mode": "cors", "sec-fetch-site": "cross-site" }, true],
    [{ "sec-fetch-site": "cross-site" }, true],
    // What Node's fetch (undici) sends on every request: a server, not a browser.
    [{ "sec-fetch-mode": "cors", "user-agent": "node", accept: "*/*" }, false],
    [{ "user-agent": "curl/8.5.0" }, false],
  ])("marks %o as browser: %s", (headers, browser) => {
    expect(describeCaller(new Request("https://k.test/", { headers })).browser).toBe(browser);
  });

  it("reads country, ASN and colo from request.cf only, and drops the unknown country XX", () => {
    const withCf = new Request("https://k.test/", { cf: { country: "FR", asn: 12322, colo: "CDG" } } as RequestInit);
    expect(describeCaller(withCf)).toMatchObject({ country: "FR", asn: 12322, colo: "CDG" });
    const spoofed = new Request("https://k.test/", { headers: { "cf-ipcountry": "US" }, cf: { country: "XX" } } as RequestInit);
    expect(describeCaller(spoofed)).toMatchObject({ country: null, asn: null, colo: null });
  });

  it.each([
    [null, "none"],
    ["curl/8.5.0", "curl"],
    ["python-requests/2.31", "python"],
    ["Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36", "chrome"],
    ["Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0", "firefox"],
    ["MyBot/1", "other"],
  ])("classifies the user agent %s as %s", (ua, family) => {
    expect(agentFamily(ua)).toBe(family);
  });
});

describe("81. miniflare's placeholder location under wrangler dev", () => {
  // What miniflare hands every request when it cannot fetch a real request.cf (its `fallbackCf`).
  const placeholder = { asOrganization: "", asn: 395747, colo: "DFW", city: "Austin", region: "Texas", postalCode: "78701", country: "US", continent: "NA" };

  it("drops it in development, keeps it in production, and keeps a real Austin request in development", () => {
    const request = (cf: Record<string, unknown>) => new Request("https://k.test/", { cf } as RequestInit);
    expect(describeCaller(request(placeholder), true)).toMatchObject({ country: null, asn: null, colo: null });
    expect(describeCaller(request(placeholder), false)).toMatchObject({ country: "US", asn: 395747, colo: "DFW" });
    expect(describeCaller(request({ ...placeholder, asn: 7018 }), true)).toMatchObject({ country: "US", asn: 7018, colo: "DFW" });
  });

  it("shows no location for requests that carried it through a development gateway", async () => {
    const client = adminClient();
    const org = newOrg();
    const created = await client.create(org);
    for (let i = 0; i < 3; i++) expect((await client.h.call(created.key, "/v1/things", { cf: placeholder } as RequestInit)).status).toBe(200);
    const res = await client.api(`/orgs/${org}/keys/${created.id}/usage?granularity=minute`, { headers: await adminHeaders(org) });
    const usage = (await res.json()) as { buckets: { admitted: number }[]; locations: Record<string, string[]> };
    expect(usage.buckets.reduce((n, b) => n + b.admitted, 0)).toBe(3);
    expect(usage.locations).toEqual({ countries: [], asns: [], colos: [] });
  });
});
