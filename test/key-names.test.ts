import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { OrgLedger } from "../src/ledger/org-ledger";
import type { UsageReport } from "../src/usage/usage-report";
import { countingNamespace } from "../test-support/counting";
import { harness } from "./support/harness";
import { devToken } from "./support/tokens";

// Views that mention keys (busiest keys, anomalies, audit) name them, from the
// same ledger call, so the console never lists every key to name a few.

const ORG = () => `org_${crypto.randomUUID().slice(0, 8)}`;
const ledgerStub = (org: string) => env.ORG_LEDGER.get(env.ORG_LEDGER.idFromName(org));
const HOUR = 3_600_000;

function setup() {
  const ledgerCalls: Record<string, number> = {};
  const h = harness({ ledgers: countingNamespace(env.ORG_LEDGER, ledgerCalls) });
  const api = async (org: string, path: string, role = "org:admin", init: RequestInit = {}) => {
    const authorization = `Bearer ${await devToken({ org, role, sub: role === "org:admin" ? "user_admin" : "user_member" })}`;
    return h.send(`/_keyward/v1/orgs/${org}${path}`, { ...init, headers: { authorization, "content-type": "application/json" } });
  };
  const create = async (org: string, label: string) => {
    const res = await api(org, "/keys", "org:admin", { method: "POST", body: JSON.stringify({ label }) });
    expect(res.status).toBe(201);
    return (await res.json()) as { id: string; prefix: string };
  };
  const calls = () => Object.values(ledgerCalls).reduce((a, b) => a + b, 0);
  return { h, api, create, calls };
}

/** What a guard would report: `admitted` requests in the current hour, and one browser_use finding. */
function report(keyId: string, admitted: number, at: number): UsageReport {
  const hour = Math.floor(at / HOUR) * HOUR;
  return {
    keyId,
    at,
    lastUsedAt: at,
    hours: [{ start: hour, admitted, refused: {} }],
    days: [],
    locations: { countries: [], asns: [], colos: [] },
    anomalies: [{ type: "browser_use", message: "seen", details: {} }],
  };
}

type Named = { keyId: string; keyLabel: string | null; keyPrefix: string | null };

describe("key names in usage, anomalies and audit", () => {
  it("names the busiest keys and each anomaly's key for an admin, in the one ledger call of each view and no guard call", async () => {
    const { h, api, create, calls } = setup();
    const org = ORG();
    const billing = await create(org, "billing worker");
    const search = await create(org, "search indexer");
    const now = Date.now();
    await ledgerStub(org).report(report(billing.id, 7, now));
    await ledgerStub(org).report(report(search.id, 3, now));
    const before = { ledger: calls(), guard: h.calls.guard.length };

    const usage = (await (await api(org, "/usage")).json()) as { topKeys: (Named & { admitted: number })[] };
    expect(usage.topKeys).toEqual([
      { keyId: billing.id, keyLabel: "billing worker", keyPrefix: billing.prefix, admitted: 7, refused: 0 },
      { keyId: search.id, keyLabel: "search indexer", keyPrefix: search.prefix, admitted: 3, refused: 0 },
    ]);
    const flags = ((await (await api(org, "/anomalies")).json()) as { anomalies: Named[] }).anomalies;
    expect(flags.map((a) => [a.keyId, a.keyLabel, a.keyPrefix]).sort()).toEqual(
      [
        [billing.id, "billing worker", billing.prefix],
        [search.id, "search indexer", search.prefix],
      ].sort(),
    );
    expect(calls() - before.ledger).toBe(2);
    expect(h.calls.guard.length).toBe(before.guard);
  });

  it("names keys for a member too: a member may list the org's keys (read-only), so usage names them as it does for admins", async () => {
    const { api, create } = setup();
    const org = ORG();
    const key = await create(org, "billing worker");
    await ledgerStub(org).report(report(key.id, 2, Date.now()));
    const usage = (await (await api(org, "/usage", "org:member")).json()) as { topKeys: Named[] };
    expect(usage.topKeys).toEqual([expect.objectContaining({ keyId: key.id, keyLabel: "billing worker", keyPrefix: key.prefix })]);
    const flags = ((await (await api(org, "/anomalies", "org:member")).json()) as { anomalies: Named[] }).anomalies;
    expect(flags).toEqual([expect.objectContaining({ keyId: key.id, keyLabel: "billing worker", keyPrefix: key.prefix })]);
    // The same as the key list answers the member.
    const listed = (await (await api(org, "/keys", "org:member")).json()) as { keys: { id: string; label: string }[] };
    expect(listed.keys).toEqual([expect.objectContaining({ id: key.id, label: "billing worker" })]);
  });

  it("names each audit event's key, and leaves null the name of a key the ledger no longer holds", async () => {
    const { api, create } = setup();
    const org = ORG();
    const key = await create(org, "billing worker");
    expect((await api(org, `/keys/${key.id}/revoke`, "org:admin", { method: "POST", body: "{}" })).status).toBe(200);
    // A creation rolled back (its KV write failed) leaves audit entries for a key that is gone.
    await runInDurableObject(ledgerStub(org), (ledger: OrgLedger) => {
      ledger.recordAudit({ at: Date.now(), actor: "user:x", action: "key.created", keyId: "key_00000000000000000000", requestId: "r", detail: {} });
    });
    const events = ((await (await api(org, "/audit")).json()) as { events: (Named & { action: string })[] }).events;
    expect(events.filter((e) => e.keyId === key.id).map((e) => [e.action, e.keyLabel, e.keyPrefix])).toEqual([
      ["key.revoked", "billing worker", key.prefix],
      ["key.created", "billing worker", key.prefix],
    ]);
    expect(events.find((e) => e.keyId === "key_00000000000000000000")).toMatchObject({ keyLabel: null, keyPrefix: null });
  });
});
