import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { KeyGuard } from "../src/guard/key-guard";
import { hashKey } from "../src/keys/key-format";
import type { OrgLedger } from "../src/ledger/org-ledger";
import type { AnomalyFinding } from "../src/usage/anomaly-rules";
import { PLACES_PER_DAY } from "../src/usage/usage-book";
import { REPORT_DELAY_MS, type UsageReport } from "../src/usage/usage-report";
import { guardStub, harness } from "./support/harness";
import { devToken } from "./support/tokens";

// Threat cases 52, 54 and 56 of docs/threats.md (usage monitoring), end to end through the admin API.

const ORG = () => `org_${crypto.randomUUID().slice(0, 8)}`;
const ledgerStub = (org: string) => env.ORG_LEDGER.get(env.ORG_LEDGER.idFromName(org));
const tick = (keyId: string, at: number) => runInDurableObject(guardStub(keyId), (g: KeyGuard) => KeyGuard.hooks(g).runAlarm(at));

async function asRole(org: string, role: string) {
  return { authorization: `Bearer ${await devToken({ org, role, sub: `user_${role.replace(":", "_")}` })}`, "content-type": "application/json" };
}

function setup() {
  const h = harness();
  const api = async (org: string, path: string, init: RequestInit = {}, headers?: Record<string, string>) =>
    h.send(`/_keyward/v1/orgs/${org}${path}`, { ...init, headers: headers ?? (await asRole(org, "org:admin")) });
  const create = async (org: string) => {
    const res = await api(org, "/keys", { method: "POST", body: JSON.stringify({ label: "svc" }) });
    expect(res.status).toBe(201);
    return (await res.json()) as { id: string; key: string };
  };
  return { h, api, create };
}

const finding = (type: AnomalyFinding["type"]): AnomalyFinding => ({ type, message: `${type} seen`, details: {} });
const report = (keyId: string, at: number, anomalies: AnomalyFinding[]): UsageReport => ({
  keyId,
  at,
  lastUsedAt: at,
  hours: [{ start: at - (at % 3_600_000), admitted: 7, refused: {} }],
  days: [],
  locations: { countries: ["NL"], asns: [], colos: [] },
  anomalies,
});

/** Every row of every table of a Durable Object's SQLite storage, and its key-value entries, as one string. */
async function dumpStorage(stub: DurableObjectStub<KeyGuard> | DurableObjectStub<OrgLedger>): Promise<string> {
  return runInDurableObject(stub as DurableObjectStub<KeyGuard>, async (_o, state) => {
    const tables = state.storage.sql
      .exec("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%'")
      .toArray()
      .map((r) => String(r.name));
    const rows = tables.map((t) => [t, state.storage.sql.exec(`SELECT * FROM "${t}"`).toArray()]);
    const kv = [...(await state.storage.list()).entries()];
    return JSON.stringify({ rows, kv });
  });
}

describe("threat 52: usage, anomalies and listings of one org are closed to everyone else", () => {
  it("answers org A's usage, anomalies and listings 404/403 to org B's admin and to org A's own key; a member reads, only an admin acknowledges", async () => {
    const { h, api, create } = setup();
    const orgA = ORG();
    const { id, key } = await create(orgA);
    await h.call(key);
    await tick(id, Date.now() + REPORT_DELAY_MS);
    await ledgerStub(orgA).report(report(id, Date.now(), [finding("browser_use")]));
    const anomalies = (await (await api(orgA, "/anomalies")).json()) as { anomalies: { id: string }[] };
    const anomalyId = anomalies.anomalies[0]?.id as string;
    expect(anomalyId).toMatch(/^anm_/);

    const reads = [
      `/keys/${id}/usage?granularity=minute`,
      `/keys/${id}/usage?granularity=hour`,
      "/usage",
      "/anomalies",
      "/anomalies?status=all",
      "/keys",
      `/keys/${id}`,
    ];
    const strangers: [string, Record<string, string>][] = [
      ["org B's admin", await asRole(ORG(), "org:admin")],
      ["org A's key as a Bearer token", { authorization: `Bearer ${key}` }],
      ["org A's key as X-API-Key", { "x-api-key": key }],
    ];
    for (const [who, headers] of strangers) {
      for (const path of reads) {
        const res = await api(orgA, path, {}, headers);
        expect([401, 403, 404], `${who} GET ${path}`).toContain(res.status);
        const text = await res.text();
        expect(text, `${who} GET ${path}`).not.toContain(id);
        expect(text).not.toContain(anomalyId);
      }
      const ack = await api(orgA, `/anomalies/${anomalyId}/acknowledge`, { method: "POST" }, headers);
      expect([401, 403, 404], `${who} acknowledge`).toContain(ack.status);
    }

    // A member of org A reads usage and anomalies, but may not acknowledge.
    const member = await asRole(orgA, "org:member");
    for (const path of ["/usage", "/anomalies", `/keys/${id}/usage?granularity=hour`]) {
      expect((await api(orgA, path, {}, member)).status, `member GET ${path}`).toBe(200);
    }
    const memberAck = await api(orgA, `/anomalies/${anomalyId}/acknowledge`, { method: "POST" }, member);
    expect(memberAck.status).toBe(403);

    // Nobody above changed anything: the flag is still open; then org A's admin acknowledges it.
    const open = (await (await api(orgA, "/anomalies")).json()) as { anomalies: { id: string; acknowledgedAt: string | null }[] };
    expect(open.anomalies).toEqual([expect.objectContaining({ id: anomalyId, acknowledgedAt: null })]);
    expect((await api(orgA, `/anomalies/${anomalyId}/acknowledge`, { method: "POST" })).status).toBe(200);
  });
});

describe("threat 54: usage data holds no secret and bad queries are 400s", () => {
  it("stores and returns no key, key hash, user token or full IP address in the guard, the ledger or the API", async () => {
    const { h, api, create } = setup();
    const org = ORG();
    const { id, key } = await create(org);
    const hash = await hashKey(key);
    const userToken = await devToken({ org, role: "org:member", extra: { permissions: ["things:read"] } });
    const ip = "203.0.113.77";
    const ip6 = "2001:db8:85a3::8a2e:370:7334";
    for (const addr of [ip, ip6]) {
      const res = await h.send("/v1/things", {
        headers: { "x-api-key": key, authorization: `Bearer ${userToken}`, "cf-connecting-ip": addr, "x-forwarded-for": addr, "x-real-ip": addr },
        cf: { country: "DE", asn: 3320, colo: "FRA", clientIp: addr },
      } as RequestInit);
      expect(res.status).toBeLessThan(500);
    }
    await h.settle();
    await tick(id, Date.now() + REPORT_DELAY_MS);

    const views = await Promise.all(
      [
        `/keys/${id}/usage?granularity=minute`,
        `/keys/${id}/usage?granularity=hour`,
        `/keys/${id}/usage?granularity=day`,
        "/usage",
        "/anomalies?status=all",
      ].map(async (p) => {
        const res = await api(org, p);
        expect(res.status, p).toBe(200);
        return res.text();
      }),
    );
    const guard = await dumpStorage(guardStub(id));
    const ledgerUsage = await runInDurableObject(ledgerStub(org), (_l, state) =>
      JSON.stringify(["key_usage", "usage_days", "anomalies"].map((t) => state.storage.sql.exec(`SELECT * FROM ${t}`).toArray())),
    );
    // The guard did count the requests: the search below is over real usage data, not an empty store.
    expect(guard).toContain("DE");
    expect(ledgerUsage).toContain("DE");
    const secrets = [key, key.slice(-16), userToken, userToken.split(".")[2] as string, ip, "203.0.113", ip6, "2001:db8", hash];
    for (const [where, text] of [["guard storage", guard], ["ledger usage tables", ledgerUsage], ...views.map((v, i) => [`view ${i}`, v])] as const) {
      for (const secret of secrets) expect(text.includes(secret), `${where} holds ${secret.slice(0, 12)}…`).toBe(false);
    }
  });

  it.each([
    ["/usage?granularity=week", "granularity"],
    ["/usage?granularity=", "granularity"],
    ["/usage?from=1e999", "from"],
    ["/usage?to=not-a-date", "to"],
    ["/usage?from=2027-01-01T00:00:00Z&to=2027-01-01T00:00:00Z", "from"],
    ["/usage?from=0000-00-00", "from"],
    ["/usage?granularity=day&from=1970-01-01T00:00:00Z", "from"],
    ["/usage?granularity=hour&granularity=day", "granularity"],
    ["/keys/KEY/usage?granularity=second", "granularity"],
    ["/keys/KEY/usage?granularity=minute&from=2000-01-01T00:00:00Z", "from"],
    ["/keys/KEY/usage?to=%00", "to"],
    ["/keys?limit=-1", "limit"],
    ["/keys?limit=1.5", "limit"],
    ["/keys?limit=99999999999999999999", "limit"],
    ["/keys?cursor=", "cursor"],
    ["/keys?cursor=%22%3E%3Cscript%3E", "cursor"],
    ["/keys?cursor=eyJzIjoiY3JlYXRlZCIsInYiOjEsImlkIjoiJyBPUiAxPTEgLS0ifQ", "cursor"],
  ])("answers %s with 400 naming %s, never 500", async (path, field) => {
    const { api, create } = setup();
    const org = ORG();
    const { id } = await create(org);
    const res = await api(org, path.replace("KEY", id));
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: "INVALID_REQUEST", field });
  });

  it("refuses a tampered cursor and another org's cursor with 400 naming cursor, never showing the other org's keys", async () => {
    const { api, create } = setup();
    const orgA = ORG();
    const orgB = ORG();
    const aKeys = [await create(orgA), await create(orgA), await create(orgA)];
    const bKeys = [await create(orgB), await create(orgB)];
    const first = (await (await api(orgA, "/keys?limit=1")).json()) as { keys: { id: string }[]; nextCursor: string };
    expect(first.nextCursor).toEqual(expect.any(String));
    const next = await api(orgA, `/keys?limit=1&cursor=${first.nextCursor}`);
    expect(next.status).toBe(200);

    // Org A's cursor in org B's listing.
    const foreign = await api(orgB, `/keys?limit=1&cursor=${first.nextCursor}`);
    expect(foreign.status).toBe(400);
    expect(await foreign.json()).toMatchObject({ code: "INVALID_REQUEST", field: "cursor" });

    // Org A's cursor, edited: another sort, another org, a key id that is not one.
    const decoded = JSON.parse(atob(first.nextCursor.replaceAll("-", "+").replaceAll("_", "/"))) as Record<string, unknown>;
    const encode = (c: Record<string, unknown>) => btoa(JSON.stringify(c)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
    const tampered = [
      { ...decoded, o: orgB },
      { ...decoded, s: "lastUsed" },
      { ...decoded, id: "key_' OR 1=1 --" },
      { ...decoded, v: "1; DROP TABLE keys" },
      { ...decoded, o: undefined },
      `${first.nextCursor}x`,
      first.nextCursor.slice(0, -3),
    ];
    for (const t of tampered) {
      const cursor = typeof t === "string" ? t : encode(t);
      for (const org of [orgA, orgB]) {
        const res = await api(org, `/keys?cursor=${encodeURIComponent(cursor)}`);
        const text = await res.text();
        if (res.status === 200) {
          // Only a cursor still valid for this org may page; it never shows the other org's keys.
          const other = org === orgA ? bKeys : aKeys;
          for (const k of other) expect(text).not.toContain(k.id);
        } else {
          expect(res.status, `${cursor} in ${org}`).toBe(400);
          expect(JSON.parse(text)).toMatchObject({ code: "INVALID_REQUEST", field: "cursor" });
        }
      }
    }
    // The edited "another org" cursor is refused by both orgs' listings.
    const asB = encode({ ...decoded, o: orgB });
    expect((await api(orgA, `/keys?cursor=${asB}`)).status).toBe(400);
  });
});

describe("threat 56: attacker-controlled request headers stay bounded and never move the recorded location", () => {
  it("keeps a 10 KB User-Agent with control characters, and a flood of agents, as bounded family names only", async () => {
    const { h, api, create } = setup();
    const org = ORG();
    const { id, key } = await create(org);
    const marker = "ZZmarkerZZ";
    const huge = `curl/8.0 ${marker}<script>alert(1)</script>\u0001\u0007\u001b[31m ${"A".repeat(10 * 1024)}`;
    // Header values may not hold CR/LF or NUL; every other control character goes through.
    const agents = [huge, `${marker}\u0002\u007f`, ...Array.from({ length: 40 }, (_, i) => `bot-${marker}-${i}/1.0`)];
    for (const ua of agents) expect((await h.call(key, "/v1/things", { headers: { "user-agent": ua } })).status).toBe(200);
    await tick(id, Date.now() + REPORT_DELAY_MS);

    const guard = await dumpStorage(guardStub(id));
    const ledger = await dumpStorage(ledgerStub(org));
    const views = await Promise.all([`/keys/${id}/usage?granularity=minute`, "/usage", "/anomalies?status=all"].map(async (p) => (await api(org, p)).text()));
    for (const text of [guard, ledger, ...views]) {
      expect(text).not.toContain(marker);
      expect(text).not.toContain("<script>");
      expect(text).not.toContain("AAAAAAAAAAAAAAAA");
      // Raw, or as JSON escapes them (\u0001 …) once or twice over.
      for (const control of ["\u0001", "\u0002", "\u0007", "\u001b", "\u007f"]) {
        for (const form of [control, JSON.stringify(control).slice(1, -1), JSON.stringify(JSON.stringify(control)).slice(2, -2)])
          expect(text).not.toContain(form);
      }
    }
    // Only coarse families are kept, at most PLACES_PER_DAY of them a day; nothing grew with the 10 KB header.
    const state = await runInDurableObject(guardStub(id), (_g, s) => JSON.stringify(s.storage.sql.exec("SELECT * FROM admissions").toArray()));
    // The usage JSON sits inside a row, so its quotes may be escaped once or more.
    const families = [...guard.matchAll(/agents\\*":\{\\*"values\\*":\[([^\]]*)\]/g)].flatMap((m) => (m[1] ?? "").match(/[a-z]+/g) ?? []);
    expect(families.length).toBeGreaterThan(0);
    expect(new Set(families)).toEqual(new Set(["curl", "other"]));
    expect(new Set(families).size).toBeLessThanOrEqual(PLACES_PER_DAY);
    expect(state.length).toBeLessThan(16 * 1024);
  });

  it("records the location from request.cf only: client CF-IPCountry / CF-Connecting-IP headers change nothing", async () => {
    const { h, api, create } = setup();
    const org = ORG();
    const { id, key } = await create(org);
    const spoof = { "cf-ipcountry": "KP", "cf-connecting-ip": "198.51.100.9", "x-forwarded-for": "198.51.100.9", "true-client-ip": "198.51.100.9" };
    for (let i = 0; i < 3; i++) {
      expect((await h.call(key, "/v1/things", { headers: spoof, cf: { country: "FR", asn: 5410, colo: "CDG" } } as RequestInit)).status).toBe(200);
    }
    // Without request.cf (local dev) the headers do not stand in for it either.
    expect((await h.call(key, "/v1/things", { headers: spoof })).status).toBe(200);
    await tick(id, Date.now() + REPORT_DELAY_MS);

    const minute = (await (await api(org, `/keys/${id}/usage?granularity=minute`)).json()) as { locations: Record<string, string[]> };
    const hour = (await (await api(org, `/keys/${id}/usage?granularity=hour`)).json()) as { locations: Record<string, string[]> };
    for (const view of [minute, hour]) expect(view.locations).toMatchObject({ countries: ["FR"], asns: ["5410"], colos: ["CDG"] });
    const guard = await dumpStorage(guardStub(id));
    const ledger = await dumpStorage(ledgerStub(org));
    for (const text of [guard, ledger]) {
      expect(text).not.toContain('"KP"');
      expect(text).not.toContain("198.51.100");
    }
    const flags = (await (await api(org, "/anomalies?status=all")).json()) as { anomalies: { type: string; message: string }[] };
    expect(JSON.stringify(flags)).not.toContain("KP");
  });
});
