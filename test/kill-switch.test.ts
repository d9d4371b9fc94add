import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { REVOKE_CONCURRENCY } from "../src/admin/key-revoker";
import { recordOfLedger } from "../src/admin/key-view";
import { settleBounded } from "../src/bounded";
import { generateKey, hashKey, randomId } from "../src/keys/key-format";
import type { OrgLedger } from "../src/ledger/org-ledger";
import { kvKeyFor } from "../src/lookup/key-record";
import { type HarnessOptions, harness } from "./support/harness";
import { seededKey } from "./support/ledger-keys";
import { devToken } from "./support/tokens";

/**
 * Keys of the large kill-switch run: several rounds of the revoker's bounded
 * concurrency, seeded rather than created. (500 keys took about 40 s here under
 * load, most of it in 500 fresh guards; that size is for the bench.)
 */
const MANY = 96;

const ORG = () => `org_${crypto.randomUUID().slice(0, 8)}`;
type Created = { id: string; key: string; label: string };

/** KV whose writes start failing once `puts.failAfter` more have succeeded (null: never). */
function faultyKv() {
  const puts = { failAfter: null as number | null };
  const kv = {
    get: (...args: unknown[]) => (env.KEYS.get as (...a: unknown[]) => unknown)(...args),
    put: async (...args: unknown[]) => {
      if (puts.failAfter !== null) {
        if (puts.failAfter <= 0) throw new Error("injected KV write failure");
        puts.failAfter--;
      }
      return (env.KEYS.put as (...a: unknown[]) => unknown)(...args);
    },
  } as unknown as KVNamespace;
  return { kv, puts };
}

async function setup(options: HarnessOptions = {}) {
  const h = harness(options);
  const org = ORG();
  const admin = async (o = org, role = "org:admin") => ({ authorization: `Bearer ${await devToken({ org: o, role })}`, "content-type": "application/json" });
  const create = async (body: Record<string, unknown> = {}) => {
    const res = await h.send(`/_keyward/v1/orgs/${org}/keys`, { method: "POST", headers: await admin(), body: JSON.stringify({ label: "ci", ...body }) });
    expect(res.status).toBe(201);
    return (await res.json()) as Created;
  };
  const revokeAll = async (body: unknown, headers?: Record<string, string>) =>
    h.send(`/_keyward/v1/orgs/${org}/keys/revoke-all`, { method: "POST", headers: headers ?? (await admin()), body: JSON.stringify(body) });
  /**
   * `n` live keys written where the admin API writes a new key (the org's ledger,
   * in one call, and the KV index), without n admin requests: the kill switch is
   * under test here, and key creation has its own tests (test/keys.test.ts).
   */
  const seed = async (n: number): Promise<Created[]> => {
    const keys = await Promise.all(
      Array.from({ length: n }, async (_, i) => {
        const { key, displayPrefix } = generateKey("sk", "live");
        const row = seededKey(i, { id: randomId("key"), hash: await hashKey(key), prefix: displayPrefix, environment: "live", createdAt: Date.now() });
        return { key, row };
      }),
    );
    await runInDurableObject(env.ORG_LEDGER.get(env.ORG_LEDGER.idFromName(org)), (ledger: OrgLedger) => {
      for (const { row } of keys)
        ledger.addKey(row, { at: row.createdAt, actor: "user:seed", action: "key.created", keyId: row.id, requestId: "seed", detail: {} });
    });
    await settleBounded(keys, 25, ({ row }) => env.KEYS.put(kvKeyFor(row.hash), JSON.stringify(recordOfLedger(row, org))));
    return keys.map(({ key, row }) => ({ id: row.id, key, label: row.label }));
  };
  // Every key of the org (the listing's largest page holds them all here).
  const statuses = async () =>
    ((await (await h.send(`/_keyward/v1/orgs/${org}/keys?limit=1000`, { headers: await admin() })).json()) as { keys: { id: string; status: string }[] }).keys;
  return { h, org, admin, create, seed, revokeAll, statuses };
}

describe("org kill switch (threats.md 61)", () => {
  it.each([
    ["a missing confirm", {}],
    ["a wrong confirm", { confirm: "org_other" }],
    ["a confirm with different case", null],
  ])("refuses %s with 400 INVALID_REQUEST and changes nothing", async (_name, body) => {
    const s = await setup();
    const { key } = await s.create();
    const res = await s.revokeAll(body ?? { confirm: s.org.toUpperCase() });
    expect(res.status).toBe(400);
    expect((await res.json()) as { code: string; field: string }).toMatchObject({ code: "INVALID_REQUEST", field: "confirm" });
    expect((await s.h.call(key)).status).toBe(200);
    expect(s.h.calls.guard.filter((m) => m === "revoke")).toEqual([]);
  });

  it("refuses a member (403) and another org's admin (404), and changes nothing", async () => {
    const s = await setup();
    const { key } = await s.create();
    const member = await s.revokeAll({ confirm: s.org }, await s.admin(s.org, "org:member"));
    expect(member.status).toBe(403);
    const other = await s.revokeAll({ confirm: s.org }, await s.admin("org_elsewhere"));
    expect(other.status).toBe(404);
    expect((await s.h.call(key)).status).toBe(200);
    expect(s.h.calls.guard.filter((m) => m === "revoke")).toEqual([]);
  });

  it("a dry run counts what the call would revoke (already revoked apart), needs no confirm, and revokes nothing", async () => {
    const s = await setup();
    const a = await s.create({ label: "web" });
    const b = await s.create({ label: "web-2" });
    await s.create({ label: "ci", environment: "test" });
    expect((await s.h.send(`/_keyward/v1/orgs/${s.org}/keys/${b.id}/revoke`, { method: "POST", headers: await s.admin(), body: "{}" })).status).toBe(200);
    const revokesBefore = s.h.calls.guard.filter((m) => m === "revoke").length;
    const res = await s.revokeAll({ dryRun: true, environment: "live" });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ revoked: 1, alreadyRevoked: 1, dryRun: true });
    expect(await (await s.revokeAll({ dryRun: true, labelPrefix: "web" })).json()).toEqual({ revoked: 1, alreadyRevoked: 1, dryRun: true });
    expect(await (await s.revokeAll({ dryRun: true })).json()).toEqual({ revoked: 2, alreadyRevoked: 1, dryRun: true });
    expect((await s.h.call(a.key)).status).toBe(200);
    expect(s.h.calls.guard.filter((m) => m === "revoke").length).toBe(revokesBefore);
    // A member may not even count.
    expect((await s.revokeAll({ dryRun: true }, await s.admin(s.org, "org:member"))).status).toBe(403);
    // dryRun false is the real call, which still needs the confirm.
    expect((await s.revokeAll({ dryRun: false })).status).toBe(400);
  });

  it("lets the operator use it", async () => {
    const s = await setup();
    const { key } = await s.create();
    const res = await s.revokeAll({ confirm: s.org }, { authorization: `Bearer ${env.KEYWARD_OPERATOR_TOKEN}`, "content-type": "application/json" });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ revoked: 1, alreadyRevoked: 0 });
    expect((await s.h.call(key)).status).toBe(403);
  });

  it("revokes only the keys matching environment, createdBefore and labelPrefix", async () => {
    let now = Date.now();
    const s = await setup({ now: () => now });
    const old = await s.create({ label: "ci-old" });
    now += 60_000;
    const cut = new Date(now).toISOString();
    now += 60_000;
    const ciLive = await s.create({ label: "ci-new" });
    const ciTest = await s.create({ label: "ci-new", environment: "test" });
    const web = await s.create({ label: "web" });
    const byLabel = await s.revokeAll({ confirm: s.org, labelPrefix: "ci-", environment: "live", createdBefore: new Date(now + 1).toISOString() });
    expect(await byLabel.json()).toEqual({ revoked: 2, alreadyRevoked: 0 });
    const statusOf = async (k: Created) => (await s.h.call(k.key)).status;
    expect([await statusOf(old), await statusOf(ciLive), await statusOf(ciTest), await statusOf(web)]).toEqual([403, 403, 200, 200]);
    const before = await s.revokeAll({ confirm: s.org, createdBefore: cut });
    expect(await before.json()).toEqual({ revoked: 0, alreadyRevoked: 1 });
  });

  it(`revokes ${MANY} keys in one call (${MANY / REVOKE_CONCURRENCY} rounds of guard calls); each is refused on its next request; a repeat finds them all revoked`, async () => {
    const s = await setup();
    const created = await s.seed(MANY);
    // The seeded keys are served like created ones before the switch.
    expect((await s.h.call((created[0] as Created).key)).status).toBe(200);
    expect((await s.statuses()).filter((k) => k.status === "active")).toHaveLength(MANY);
    const started = Date.now();
    const res = await s.revokeAll({ confirm: s.org });
    const tookMs = Date.now() - started;
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ revoked: MANY, alreadyRevoked: 0 });
    console.log(`kill switch: ${MANY} keys revoked in ${tookMs} ms`);
    expect(s.h.calls.guard.filter((m) => m === "revoke")).toHaveLength(MANY);
    const next = await settleBounded(created, 16, async (k) => (await s.h.call(k.key)).status);
    expect(next.map((r) => (r as PromiseFulfilledResult<number>).value)).toEqual(Array(MANY).fill(403));
    // Only the one request before the switch reached the origin.
    expect(s.h.calls.origin).toHaveLength(1);
    expect((await s.statuses()).every((k) => k.status === "revoked")).toBe(true);
    const again = await s.revokeAll({ confirm: s.org });
    expect(await again.json()).toEqual({ revoked: 0, alreadyRevoked: MANY });
    // Fresh Durable Objects on a shared, loaded test machine: slow locally, hence the long timeout.
  }, 180_000);

  it("with KV failing part-way: answers 503 with what was done, every key is already refused at its guard, and a repeat completes the rest", async () => {
    const { kv, puts } = faultyKv();
    const s = await setup({ kv, vars: { CACHE_TTL_SECONDS: "0" } });
    const created = await s.seed(120);
    puts.failAfter = 40;
    const res = await s.revokeAll({ confirm: s.org });
    expect(res.status).toBe(503);
    const body = (await res.json()) as { code: string; detail: Record<string, unknown> };
    expect(body.code).toBe("AUTH_BACKEND_UNAVAILABLE");
    expect(body.detail).toEqual({ revoked: 120, alreadyRevoked: 0, refusedAtGuard: 120, notYetRevoked: 0, ledgerUpdated: true, kvPending: 80 });

    // KV still says active for 80 of them; the guard refuses every one regardless.
    const records = await Promise.all(
      created.map(async (k) => JSON.parse((await env.KEYS.get(kvKeyFor(await hashKey(k.key)))) as string) as { status: string }),
    );
    expect(records.filter((r) => r.status === "active")).toHaveLength(80);
    const next = await settleBounded(created, 16, async (k) => (await s.h.call(k.key)).status);
    expect(next.map((r) => (r as PromiseFulfilledResult<number>).value)).toEqual(Array(120).fill(403));
    expect(s.h.calls.origin).toHaveLength(0);

    puts.failAfter = null;
    const repeat = await s.revokeAll({ confirm: s.org });
    expect(repeat.status).toBe(200);
    expect(await repeat.json()).toEqual({ revoked: 0, alreadyRevoked: 120 });
    const after = await Promise.all(created.map(async (k) => JSON.parse((await env.KEYS.get(kvKeyFor(await hashKey(k.key)))) as string) as { status: string }));
    expect(after.every((r) => r.status === "revoked")).toBe(true);
  }, 120_000);

  it("with a guard failing part-way: the keys it could not reach stay unrevoked in the record, and a repeat revokes them", async () => {
    const s = await setup();
    const created = await Promise.all([s.create(), s.create(), s.create()]);
    s.h.faults.push({ overloaded: true });
    const res = await s.revokeAll({ confirm: s.org });
    expect(res.status).toBe(503);
    expect(((await res.json()) as { detail: Record<string, unknown> }).detail).toMatchObject({ revoked: 2, refusedAtGuard: 2, notYetRevoked: 1 });
    const repeat = await s.revokeAll({ confirm: s.org });
    expect(await repeat.json()).toEqual({ revoked: 1, alreadyRevoked: 2 });
    for (const k of created) expect((await s.h.call(k.key)).status).toBe(403);
  });
});
