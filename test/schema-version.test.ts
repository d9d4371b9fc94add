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
  // Six since local admission: the lease book's one row (lease-desk.ts) is read on wake too; its table is created by the migration, not per wake.
  it("wakes with six statements and no DDL once its schema is recorded: the version, then its own rows", async () => {
    const s = settings();
    const stub = guardStub(s.keyId);
    await stub.check({ requestId: crypto.randomUUID(), consume: true, settings: s, org: "org_schema" });
    await runInDurableObject(stub, (_guard: KeyGuard, state) => {
      expect(storedVersion(state.storage.sql)).toBe(GUARD_SCHEMA_VERSION);
      const statements = statementsBy(state, () => new KeyGuard(state, env as never));
      expect(statements[0]).toMatch(/FROM keyward_schema/);
      expect(statements.some((q) => /CREATE|ALTER|pragma_table_info/i.test(q))).toBe(false);
      expect(statements.length).toBeLessThanOrEqual(6);
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
