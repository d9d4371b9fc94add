import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { KeySettings } from "../src/guard/guard-types";
import { GUARD_SCHEMA_VERSION, KeyGuard } from "../src/guard/key-guard";
import { randomId } from "../src/keys/key-format";
import { migrateOnce, storedVersion } from "../src/storage/schema-version";
import { guardStub } from "./support/harness";
import { withSqlWatched } from "./support/sql-spy";

function settings(overrides: Partial<KeySettings> = {}): KeySettings {
  return { keyId: randomId("key"), version: 1, limit: 60, windowSeconds: 60, expiresAt: null, revoked: false, revokeAt: null, ...overrides };
}

/** SQL statements `run` makes through the object's storage. */
function statementsBy(state: DurableObjectState, run: () => void): string[] {
  const seen: string[] = [];
  withSqlWatched(state, (query) => seen.push(query.replace(/\s+/g, " ").slice(0, 60)), run);
  return seen;
}

const columns = (state: DurableObjectState, table: string) =>
  state.storage.sql
    .exec(`SELECT name FROM pragma_table_info('${table}')`)
    .toArray()
    .map((r) => String(r.name));

describe("storage schema versions (a guard's wake)", () => {
  // Two: the version with every one-row table (guard-schema.ts wakeRead), then the admissions with the newest one's usage.
  // It was six (version, state, admissions, their usage, holds, usage, leases: one statement each) before wakeRead;
  // a many-keys guard wakes for nearly every request (docs/performance.md).
  it("wakes with two statements and no DDL once its schema is recorded: the version and one-row tables, then the admissions", async () => {
    const s = settings();
    const stub = guardStub(s.keyId);
    await stub.check({ requestId: crypto.randomUUID(), consume: true, settings: s, org: "org_schema" });
    await stub.check({ requestId: crypto.randomUUID(), consume: true, settings: s, org: "org_schema" });
    await runInDurableObject(stub, (guard: KeyGuard, state) => {
      KeyGuard.hooks(guard).flush();
      expect(storedVersion(state.storage.sql)).toBe(GUARD_SCHEMA_VERSION);
      const statements = statementsBy(state, () => new KeyGuard(state, env as never));
      expect(statements[0]).toMatch(/^SELECT s\.version AS schema_version/);
      expect(statements.some((q) => /CREATE|ALTER|pragma_table_info/i.test(q))).toBe(false);
      expect(statements).toHaveLength(2);
      // What it read is what a statement per table read: the window and the usage copy.
      const woken = KeyGuard.hooks(new KeyGuard(state, env as never)).room;
      expect(woken.log.window.count(Date.now(), 60_000)).toBe(2);
      expect(woken.reporter.usage.org).toBe("org_schema");
    });
  });

  it("reads the holds table on a wake only when it keeps a hold", async () => {
    const s = settings();
    const stub = guardStub(s.keyId);
    await stub.check({ requestId: crypto.randomUUID(), consume: true, settings: s, org: "org_schema" });
    await runInDurableObject(stub, (_guard: KeyGuard, state) => {
      expect(statementsBy(state, () => new KeyGuard(state, env as never)).some((q) => /FROM holds/.test(q) && !/EXISTS/.test(q))).toBe(false);
      state.storage.sql.exec("INSERT INTO holds (id, at, reserve, expires_at) VALUES ('h1', ?, 5, ?)", Date.now(), Date.now() + 60_000);
      let woken: KeyGuard | undefined;
      const statements = statementsBy(state, () => {
        woken = new KeyGuard(state, env as never);
      });
      expect(statements.some((q) => /^SELECT id, at, reserve/.test(q))).toBe(true);
      expect(KeyGuard.hooks(woken as KeyGuard).room.meter.book.open).toBe(1);
    });
  });

  it("brings storage from before schema versions up to date once, and keeps what it holds", async () => {
    const s = settings();
    const stub = guardStub(s.keyId);
    await stub.check({ requestId: crypto.randomUUID(), consume: true, settings: s, org: "org_schema" });
    await stub.revoke({ settings: s, at: null });
    await runInDurableObject(stub, (_guard: KeyGuard, state) => {
      // As an older deploy left it: no version table, and a column that came later missing.
      state.storage.sql.exec("DROP TABLE keyward_schema");
      state.storage.sql.exec("ALTER TABLE guard_state DROP COLUMN org_limit");
      expect(storedVersion(state.storage.sql)).toBe(0);
      const first = statementsBy(state, () => new KeyGuard(state, env as never));
      expect(first.some((q) => /ALTER TABLE guard_state ADD COLUMN org_limit/.test(q))).toBe(true);
      expect(columns(state, "guard_state")).toContain("org_limit");
      expect(storedVersion(state.storage.sql)).toBe(GUARD_SCHEMA_VERSION);
      const second = statementsBy(state, () => new KeyGuard(state, env as never));
      expect(second.some((q) => /CREATE|ALTER|pragma_table_info/i.test(q))).toBe(false);
    });
    await evictDurableObject(stub);
    expect((await stub.check({ requestId: crypto.randomUUID(), consume: true, settings: s, org: "org_schema" })).kind).toBe("revoked");
  });

  it("runs the migration again for an older recorded version", async () => {
    const s = settings();
    const stub = guardStub(s.keyId);
    await stub.check({ requestId: crypto.randomUUID(), consume: true, settings: s, org: "org_schema" });
    await runInDurableObject(stub, (_guard: KeyGuard, state) => {
      state.storage.sql.exec("UPDATE keyward_schema SET version = ?", GUARD_SCHEMA_VERSION - 1);
      const statements = statementsBy(state, () => new KeyGuard(state, env as never));
      expect(statements.some((q) => /CREATE TABLE IF NOT EXISTS guard_state/.test(q))).toBe(true);
      expect(storedVersion(state.storage.sql)).toBe(GUARD_SCHEMA_VERSION);
    });
  });

  it("records nothing when a migration fails: the next wake tries again from where it was", async () => {
    const s = settings();
    const stub = guardStub(s.keyId);
    await stub.check({ requestId: crypto.randomUUID(), consume: true, settings: s, org: "org_schema" });
    await runInDurableObject(stub, (_guard: KeyGuard, state) => {
      expect(() =>
        migrateOnce(state.storage, GUARD_SCHEMA_VERSION + 1, () => {
          state.storage.sql.exec("CREATE TABLE half_done (x INTEGER)");
          throw new Error("cut short");
        }),
      ).toThrow("cut short");
      expect(storedVersion(state.storage.sql)).toBe(GUARD_SCHEMA_VERSION);
      expect(state.storage.sql.exec("SELECT name FROM sqlite_master WHERE name = 'half_done'").toArray()).toEqual([]);
    });
  });
});
