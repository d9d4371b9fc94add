import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../src/config";
import { KeyGuard } from "../src/guard/key-guard";
import { DEFAULT_RETENTION_DAYS, retentionMs, storageEndsAt } from "../src/guard/storage-end";
import type { OrgLedger } from "../src/ledger/org-ledger";
import { guardStub, harness } from "./support/harness";
import { devToken } from "./support/tokens";

// Storage that ends (docs/storage.md, "Retention"): a leak-report limiter once its
// window is empty, a key's guard a retention period after the key was revoked or
// expired. Each deletes its storage with deleteAll() from its alarm; the alarm's
// clock is passed in (KeyGuard.hooks runAlarm), never waited for.

const DAY = 86_400_000;
const ORG = () => `org_${crypto.randomUUID().slice(0, 8)}`;
const ledgerStub = (org: string) => env.ORG_LEDGER.get(env.ORG_LEDGER.idFromName(org));

/** The object's own tables with their row counts, and its alarm (Cloudflare's internal `_cf_` tables left out). */
async function stored(keyId: string) {
  return runInDurableObject(guardStub(keyId), async (_g: KeyGuard, state) => {
    const sql = state.storage.sql;
    const tables = sql
      .exec("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'")
      .toArray()
      .map((r) => String(r.name));
    const rows = Object.fromEntries(tables.map((t) => [t, Number(sql.exec(`SELECT COUNT(*) AS n FROM "${t}"`).one().n)]));
    return { rows, alarm: await state.storage.getAlarm() };
  });
}

const tick = (keyId: string, at: number) => runInDurableObject(guardStub(keyId), (g: KeyGuard) => KeyGuard.hooks(g).runAlarm(at));

async function admin(org: string) {
  return { authorization: `Bearer ${await devToken({ org, role: "org:admin" })}`, "content-type": "application/json" };
}

describe("leak-report limiters", () => {
  const report = (h: ReturnType<typeof harness>, address: string) =>
    h.send("/_keyward/v1/leaks", {
      method: "POST",
      headers: { "content-type": "application/json", "cf-connecting-ip": address },
      body: JSON.stringify({ key: "sk_live_not_a_key" }),
    });

  it("delete their storage from their alarm once the window is empty, and start afresh after", async () => {
    const h = harness({ vars: { LEAK_REPORTS_PER_MINUTE: "2" } });
    const address = `203.0.113.${Math.floor(Math.random() * 200) + 1}`;
    const name = `leak-reports:2:${address}`;
    const t0 = Date.now();
    expect((await report(h, address)).status).toBe(202);
    expect((await report(h, address)).status).toBe(202);
    expect((await report(h, address)).status).toBe(429);
    await runInDurableObject(guardStub(name), (g: KeyGuard) => KeyGuard.hooks(g).flush());
    const before = await stored(name);
    expect(before.rows.admissions).toBeGreaterThan(0);
    expect(before.rows.guard_state).toBe(1);
    // Its alarm is set; run it with the clock where the window still holds the reports: nothing ends.
    expect(before.alarm).not.toBeNull();
    await tick(name, t0 + 30_000);
    expect((await stored(name)).rows.admissions).toBeGreaterThan(0);
    // After the window (60 s) the alarm is for the end; run it there.
    const end = (await stored(name)).alarm;
    expect(end).not.toBeNull();
    expect(end as number).toBeGreaterThanOrEqual(t0 + 60_000);
    expect(end as number).toBeLessThan(Date.now() + 61_000);
    await tick(name, (end as number) + 1);
    expect(await stored(name)).toEqual({ rows: {}, alarm: null });
    // The same address again: a fresh window (nothing remembered, nothing refused).
    expect((await report(h, address)).status).toBe(202);
    expect((await report(h, address)).status).toBe(202);
    expect((await report(h, address)).status).toBe(429);
  });
});

describe("guards of revoked and expired keys", () => {
  async function revokedKey() {
    const h = harness();
    const org = ORG();
    const created = await h.send(`/_keyward/v1/orgs/${org}/keys`, { method: "POST", headers: await admin(org), body: JSON.stringify({ label: "old" }) });
    expect(created.status).toBe(201);
    const { id, key } = (await created.json()) as { id: string; key: string };
    expect((await h.call(key)).status).toBe(200);
    const revoked = await h.send(`/_keyward/v1/orgs/${org}/keys/${id}/revoke`, { method: "POST", headers: await admin(org), body: "{}" });
    expect(revoked.status).toBe(200);
    // The usage of that request reaches the ledger first.
    await tick(id, Date.now() + 61_000);
    return { h, org, id, key, revokedAt: Date.now() };
  }

  it("keep their storage for the retention period, then delete it from their alarm; the ledger keeps audit and usage", async () => {
    const { org, id, revokedAt } = await revokedKey();
    const armed = await stored(id);
    expect(armed.rows.guard_state).toBe(1);
    expect(armed.alarm).not.toBeNull();
    expect(armed.alarm as number).toBeGreaterThanOrEqual(revokedAt - 5_000 + DEFAULT_RETENTION_DAYS * DAY);
    await tick(id, revokedAt + (DEFAULT_RETENTION_DAYS - 1) * DAY);
    expect((await stored(id)).rows.guard_state).toBe(1);
    await tick(id, revokedAt + DEFAULT_RETENTION_DAYS * DAY + 60_000);
    expect(await stored(id)).toEqual({ rows: {}, alarm: null });
    const kept = await runInDurableObject(ledgerStub(org), (ledger: OrgLedger) => {
      const sql = (ledger as unknown as { ctx: DurableObjectState }).ctx.storage.sql;
      return {
        key: ledger.getKey(id)?.revokedAt !== null,
        audit: sql
          .exec("SELECT action FROM audit WHERE key_id = ? ORDER BY seq", id)
          .toArray()
          .map((r) => r.action),
        reports: Number(sql.exec("SELECT reports FROM key_usage WHERE key_id = ?", id).one().reports),
      };
    });
    expect(kept).toEqual({ key: true, audit: ["key.created", "key.revoked"], reports: 1 });
  });

  it("still refuse the key after the end (the KV record says revoked)", async () => {
    const { h, id, key, revokedAt } = await revokedKey();
    await tick(id, revokedAt + DEFAULT_RETENTION_DAYS * DAY + 60_000);
    expect((await stored(id)).rows).toEqual({});
    const res = await h.call(key);
    expect(res.status).toBe(403);
    expect(h.calls.origin).toHaveLength(1);
  });

  it("keep their storage while the ledger says KV has not caught up with the revocation (the guard is then the one refusing)", async () => {
    const { org, id, revokedAt } = await revokedKey();
    await runInDurableObject(ledgerStub(org), (ledger: OrgLedger) => {
      (ledger as unknown as { ctx: DurableObjectState }).ctx.storage.sql.exec("UPDATE keys SET kv_version = version - 1 WHERE id = ?", id);
    });
    const at = revokedAt + DEFAULT_RETENTION_DAYS * DAY + 60_000;
    await tick(id, at);
    const after = await stored(id);
    expect(after.rows.guard_state).toBe(1);
    // Asked again a day later, not never.
    expect(after.alarm).toBe(at + DAY);
  });

  it("end an expired key's guard a retention period after its expiry, the retention set by GUARD_RETENTION_DAYS", async () => {
    const h = harness();
    const org = ORG();
    const expiresAt = Date.now() + 2_000;
    const created = await h.send(`/_keyward/v1/orgs/${org}/keys`, {
      method: "POST",
      headers: await admin(org),
      body: JSON.stringify({ label: "short", expiresAt: new Date(expiresAt).toISOString() }),
    });
    expect(created.status).toBe(201);
    const { id, key } = (await created.json()) as { id: string; key: string };
    expect((await h.call(key)).status).toBe(200);
    await runInDurableObject(guardStub(id), (g: KeyGuard) => {
      (g as unknown as { env: Record<string, unknown> }).env.GUARD_RETENTION_DAYS = "2";
    });
    await tick(id, Date.now() + 61_000);
    const armed = await stored(id);
    expect(armed.rows.guard_state).toBe(1);
    expect(armed.alarm).toBe(expiresAt + 2 * DAY);
    await tick(id, expiresAt + 2 * DAY - 1);
    expect((await stored(id)).rows.guard_state).toBe(1);
    await tick(id, expiresAt + 2 * DAY);
    expect(await stored(id)).toEqual({ rows: {}, alarm: null });
  });

  it("never end a key that is neither revoked nor expired", () => {
    const state = { revoked: false, revokedAt: null, revokeAt: null, expiresAt: null, windowMs: 60_000, endsWhenIdle: false };
    expect(storageEndsAt(state, Date.now(), retentionMs(undefined))).toBeNull();
    expect(storageEndsAt({ ...state, revokeAt: 5_000 }, null, 1_000)).toBe(6_000);
    expect(storageEndsAt({ ...state, revoked: true, revokedAt: 7_000, expiresAt: 3_000 }, null, 1_000)).toBe(4_000);
    expect(storageEndsAt({ ...state, endsWhenIdle: true }, 10_000, 1_000)).toBe(70_000);
  });
});

describe("GUARD_RETENTION_DAYS", () => {
  it.each(["0", "-1", "1.5", "days", "3651"])("refuses %j at start-up, naming the variable", (value) => {
    expect(() => loadConfig({ ...env, GUARD_RETENTION_DAYS: value })).toThrow(/GUARD_RETENTION_DAYS/);
  });

  it("defaults to 30 days and takes a whole number of days", () => {
    expect(retentionMs(undefined)).toBe(30 * DAY);
    expect(retentionMs("7")).toBe(7 * DAY);
    expect(loadConfig({ ...env, GUARD_RETENTION_DAYS: "90" }).guardRetentionMs).toBe(90 * DAY);
  });
});
