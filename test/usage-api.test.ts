import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { KeyGuard } from "../src/guard/key-guard";
import type { OrgLedger } from "../src/ledger/org-ledger";
import type { AnomalyFinding } from "../src/usage/anomaly-rules";
import { REPORT_DELAY_MS, REPORT_PERIOD_MS, type UsageReport } from "../src/usage/usage-report";
import { countingNamespace } from "../test-support/counting";
import { guardStub, harness } from "./support/harness";
import { devToken } from "./support/tokens";

const ORG = () => `org_${crypto.randomUUID().slice(0, 8)}`;
const ledgerStub = (org: string) => env.ORG_LEDGER.get(env.ORG_LEDGER.idFromName(org));
const tick = (keyId: string, at: number) => runInDurableObject(guardStub(keyId), (g: KeyGuard) => KeyGuard.hooks(g).runAlarm(at));

async function as(org: string, role = "org:admin") {
  return {
    authorization: `Bearer ${await devToken({ org, role, sub: role === "org:admin" ? "user_admin" : "user_member" })}`,
    "content-type": "application/json",
  };
}

type Anomaly = {
  id: string;
  type: string;
  keyId: string;
  message: string;
  lastSeenAt: string;
  firstSeenAt: string;
  acknowledgedAt: string | null;
  acknowledgedBy: string | null;
};
type Bucket = { start: string; admitted: number; refused: Record<string, number> };

function setup() {
  const ledgerCalls: Record<string, number> = {};
  const h = harness({ ledgers: countingNamespace(env.ORG_LEDGER, ledgerCalls) });
  const api = async (org: string, path: string, init: RequestInit = {}, role = "org:admin") =>
    h.send(`/_keyward/v1/orgs/${org}${path}`, { ...init, headers: { ...(await as(org, role)), ...(init.headers as Record<string, string>) } });
  const create = async (org: string) => {
    const res = await api(org, "/keys", { method: "POST", body: JSON.stringify({ label: "svc" }) });
    expect(res.status).toBe(201);
    return (await res.json()) as { id: string; key: string };
  };
  return { h, api, create, ledgerCalls };
}

describe("usage API", () => {
  it("shows a key's fresh minute buckets from its guard in one call, and hour buckets from the ledger once reported", async () => {
    const { h, api, create, ledgerCalls } = setup();
    const org = ORG();
    const { id, key } = await create(org);
    await h.send(`/_keyward/v1/orgs/${org}/keys/${id}/rate-limit`, {
      method: "PUT",
      headers: { authorization: `Bearer ${env.KEYWARD_OPERATOR_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ limit: 3, windowSeconds: 60 }),
    });
    const cf = { country: "DE", asn: 3320, colo: "FRA" };
    for (let i = 0; i < 6; i++) await h.call(key, "/v1/things", { cf } as RequestInit);
    const guardBefore = h.calls.guard.length;
    const minute = await api(org, `/keys/${id}/usage?granularity=minute`);
    expect(minute.status).toBe(200);
    const body = (await minute.json()) as { buckets: Bucket[]; locations: { countries: string[]; asns: string[] }; lastUsedAt: string | null };
    expect(h.calls.guard.slice(guardBefore)).toEqual(["readUsage"]);
    const sum = (b: Bucket[]) => ({
      admitted: b.reduce((n, x) => n + x.admitted, 0),
      rateLimited: b.reduce((n, x) => n + (x.refused.RATE_LIMITED ?? 0), 0),
    });
    expect(sum(body.buckets)).toEqual({ admitted: 3, rateLimited: 3 });
    expect(body.locations).toMatchObject({ countries: ["DE"], asns: ["3320"] });
    expect(body.lastUsedAt).not.toBeNull();

    // Hour view: nothing until the guard reports; then the ledger alone answers.
    const before = (await (await api(org, `/keys/${id}/usage?granularity=hour`)).json()) as { buckets: Bucket[] };
    expect(before.buckets).toEqual([]);
    await tick(id, Date.now() + REPORT_DELAY_MS);
    const guardCalls = h.calls.guard.length;
    const hour = (await (await api(org, `/keys/${id}/usage?granularity=hour`)).json()) as { buckets: Bucket[]; locations: { countries: string[] } };
    expect(h.calls.guard.length).toBe(guardCalls);
    expect(sum(hour.buckets)).toEqual({ admitted: 3, rateLimited: 3 });
    expect(hour.locations.countries).toEqual(["DE"]);
    expect(ledgerCalls.keyUsage).toBe(2);
  });

  it("answers the org's totals, buckets and top keys from one ledger call", async () => {
    const { h, api, create, ledgerCalls } = setup();
    const org = ORG();
    const a = await create(org);
    const b = await create(org);
    for (let i = 0; i < 4; i++) await h.call(a.key);
    await h.call(b.key);
    const now = Date.now();
    await tick(a.id, now + REPORT_DELAY_MS);
    await tick(b.id, now + REPORT_DELAY_MS);
    const calls = { ledger: ledgerCalls.orgUsage ?? 0, guard: h.calls.guard.length };
    const res = await api(org, "/usage?granularity=day");
    expect(res.status).toBe(200);
    const usage = (await res.json()) as { org: string; totals: { admitted: number }; buckets: Bucket[]; topKeys: { keyId: string; admitted: number }[] };
    expect(ledgerCalls.orgUsage).toBe(calls.ledger + 1);
    expect(h.calls.guard.length).toBe(calls.guard);
    expect(usage.totals.admitted).toBe(5);
    expect(usage.buckets.reduce((n, x) => n + x.admitted, 0)).toBe(5);
    expect(usage.topKeys.map((k) => [k.keyId, k.admitted])).toEqual([
      [a.id, 4],
      [b.id, 1],
    ]);
  });

  it.each([
    ["/usage?granularity=minute", "granularity"],
    ["/usage?from=yesterday", "from"],
    ["/usage?from=2027-01-02T00:00:00Z&to=2027-01-01T00:00:00Z", "from"],
    ["/usage?granularity=hour&from=2020-01-01T00:00:00Z", "from"],
    ["/anomalies?status=closed", "status"],
  ])("answers %s with 400 naming %s", async (path, field) => {
    const { api } = setup();
    const res = await api(ORG(), path);
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: "INVALID_REQUEST", field });
  });

  it("answers another org's key usage 404", async () => {
    const { api, create } = setup();
    const { id } = await create(ORG());
    for (const g of ["minute", "hour"]) expect((await api(ORG(), `/keys/${id}/usage?granularity=${g}`)).status).toBe(404);
  });
});

const finding = (type: AnomalyFinding["type"], n: number): AnomalyFinding => ({ type, message: `seen ${n}`, details: { n } });
const report = (keyId: string, at: number, anomalies: AnomalyFinding[]): UsageReport => ({
  keyId,
  at,
  lastUsedAt: at,
  hours: [],
  days: [],
  locations: { countries: [], asns: [], colos: [] },
  anomalies,
});

describe("anomalies", () => {
  it("keeps one open flag per type per key: raised again, it moves lastSeenAt and takes the new numbers", async () => {
    const { api, create } = setup();
    const org = ORG();
    const { id } = await create(org);
    const t = Date.now();
    await ledgerStub(org).report(report(id, t, [finding("browser_use", 1)]));
    await ledgerStub(org).report(report(id, t + REPORT_PERIOD_MS, [finding("browser_use", 7), finding("new_country", 1)]));
    const open = ((await (await api(org, "/anomalies")).json()) as { anomalies: Anomaly[] }).anomalies;
    expect(open.map((a) => a.type).sort()).toEqual(["browser_use", "new_country"]);
    const browser = open.find((a) => a.type === "browser_use") as Anomaly & { details: { n: number } };
    expect(browser).toMatchObject({ keyId: id, message: "seen 7", details: { n: 7 }, firstSeenAt: new Date(t).toISOString() });
    expect(browser.lastSeenAt).toBe(new Date(t + REPORT_PERIOD_MS).toISOString());
  });

  it("lets an admin acknowledge (audited), refuses a member with 403, and opens a new flag when the pattern returns", async () => {
    const { api, create } = setup();
    const org = ORG();
    const { id } = await create(org);
    await ledgerStub(org).report(report(id, Date.now(), [finding("refusal_run", 150)]));
    const [flag] = ((await (await api(org, "/anomalies")).json()) as { anomalies: Anomaly[] }).anomalies;
    expect(flag).toBeDefined();
    const path = `/anomalies/${flag?.id}/acknowledge`;

    const member = await api(org, path, { method: "POST" }, "org:member");
    expect(member.status).toBe(403);
    expect(await member.json()).toMatchObject({ code: "INSUFFICIENT_PERMISSIONS" });
    expect((await api(ORG(), path, { method: "POST" })).status).toBe(404);

    const ack = await api(org, path, { method: "POST" });
    expect(ack.status).toBe(200);
    expect(await ack.json()).toMatchObject({ id: flag?.id, acknowledgedBy: "user:user_admin" });
    expect((await api(org, path, { method: "POST" })).status).toBe(200); // idempotent
    const events = ((await (await api(org, "/audit")).json()) as { events: { action: string; detail: Record<string, unknown> }[] }).events;
    expect(events.filter((e) => e.action === "anomaly.acknowledged")).toEqual([
      expect.objectContaining({ detail: expect.objectContaining({ anomalyId: flag?.id, type: "refusal_run" }) }),
    ]);

    expect(((await (await api(org, "/anomalies")).json()) as { anomalies: Anomaly[] }).anomalies).toEqual([]);
    expect(((await (await api(org, "/anomalies?status=acknowledged")).json()) as { anomalies: Anomaly[] }).anomalies).toHaveLength(1);
    await ledgerStub(org).report(report(id, Date.now() + 1, [finding("refusal_run", 300)]));
    const all = ((await (await api(org, "/anomalies?status=all")).json()) as { anomalies: Anomaly[] }).anomalies;
    expect(all.map((a) => a.acknowledgedAt === null)).toEqual([true, false]);
    expect((await api(org, "/anomalies/anm_00000000000000000000/acknowledge", { method: "POST" })).status).toBe(404);
    expect((await api(org, path, { method: "GET" })).status).toBe(405);
  });

  it("raises browser_use from real traffic: gateway -> guard -> alarm -> ledger", async () => {
    const { h, api, create } = setup();
    const org = ORG();
    const { id, key } = await create(org);
    expect((await h.call(key, "/v1/things", { headers: { origin: "https://example.com", "sec-fetch-mode": "cors" } })).status).toBe(200);
    expect(((await (await api(org, "/anomalies")).json()) as { anomalies: Anomaly[] }).anomalies).toEqual([]);
    await tick(id, Date.now() + REPORT_DELAY_MS);
    const [flag] = ((await (await api(org, "/anomalies")).json()) as { anomalies: Anomaly[] }).anomalies;
    expect(flag).toMatchObject({ type: "browser_use", keyId: id });
    expect(flag?.message).toMatch(/browser/);
  });

  it("drops a report about a key the org does not hold", async () => {
    const org = ORG();
    await ledgerStub(org).report(report("key_00000000000000000001", Date.now(), [finding("browser_use", 1)]));
    const count = await runInDurableObject(ledgerStub(org), (l: OrgLedger) =>
      (l as unknown as { ctx: DurableObjectState }).ctx.storage.sql.exec("SELECT COUNT(*) AS n FROM anomalies").one(),
    );
    expect(count.n).toBe(0);
  });
});
