import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { LEDGER_SCHEMA_VERSION } from "../src/ledger/ledger-schema";
import { OrgLedger } from "../src/ledger/org-ledger";
import { storedVersion } from "../src/storage/schema-version";
import { seededKey } from "./support/ledger-keys";
import { withSqlWatched } from "./support/sql-spy";

const ledgerStub = (org: string) => env.ORG_LEDGER.get(env.ORG_LEDGER.idFromName(org));
const created = (id: string) => ({ at: 0, actor: "user:seed", action: "key.created" as const, keyId: id, requestId: "seed", detail: {} });

/** SQL statements `run` makes through the object's storage. */
function statementsBy(state: DurableObjectState, run: () => void): string[] {
  const seen: string[] = [];
  withSqlWatched(state, (query) => seen.push(query.replace(/\s+/g, " ").slice(0, 60)), run);
  return seen;
}

const MIGRATION = /CREATE|ALTER|pragma_table_info/i;

describe("storage schema versions (an org ledger's wake)", () => {
  it("wakes with one statement once its schema is recorded: the version, no migration", async () => {
    const org = `org_${crypto.randomUUID().slice(0, 8)}`;
    await runInDurableObject(ledgerStub(org), (ledger: OrgLedger, state) => {
      ledger.addKey(seededKey(1), created(seededKey(1).id));
      expect(storedVersion(state.storage.sql)).toBe(LEDGER_SCHEMA_VERSION);
      const statements = statementsBy(state, () => new OrgLedger(state, {}));
      expect(statements).toEqual(["SELECT version FROM keyward_schema WHERE id = 1"]);
    });
  });

  it("runs its whole migration (some 25 statements) once for storage from before schema versions, then never again", async () => {
    const org = `org_${crypto.randomUUID().slice(0, 8)}`;
    const stub = ledgerStub(org);
    await runInDurableObject(stub, (ledger: OrgLedger, state) => {
      ledger.addKey(seededKey(1, { label: "Ärger" }), created(seededKey(1).id));
      // As an older deploy left it: no version table, and a column that came later missing.
      state.storage.sql.exec("DROP TABLE keyward_schema");
      state.storage.sql.exec("ALTER TABLE keys DROP COLUMN label_fold");
      const first = statementsBy(state, () => new OrgLedger(state, {}));
      expect(first.filter((q) => MIGRATION.test(q)).length).toBeGreaterThan(20);
      expect(first).toContain("ALTER TABLE keys ADD COLUMN label_fold TEXT");
      expect(state.storage.sql.exec("SELECT label_fold FROM keys").toArray()).toEqual([{ label_fold: "ärger" }]);
      expect(storedVersion(state.storage.sql)).toBe(LEDGER_SCHEMA_VERSION);
      const second = statementsBy(state, () => new OrgLedger(state, {}));
      expect(second.some((q) => MIGRATION.test(q))).toBe(false);
    });
    // The key survived, and a real wake (after an eviction) serves it.
    await evictDurableObject(stub);
    expect(await runInDurableObject(stub, (ledger: OrgLedger) => ledger.getKey(seededKey(1).id)?.label)).toBe("Ärger");
  });

  it("runs the migration again for an older recorded version", async () => {
    const org = `org_${crypto.randomUUID().slice(0, 8)}`;
    await runInDurableObject(ledgerStub(org), (_ledger: OrgLedger, state) => {
      state.storage.sql.exec("UPDATE keyward_schema SET version = ?", LEDGER_SCHEMA_VERSION - 1);
      const statements = statementsBy(state, () => new OrgLedger(state, {}));
      expect(statements.some((q) => /CREATE TABLE IF NOT EXISTS keys/.test(q))).toBe(true);
      expect(storedVersion(state.storage.sql)).toBe(LEDGER_SCHEMA_VERSION);
    });
  });

  it("folds schema 3's usage_buckets (a row per bucket) into usage_days (a row per key and day) and drops it, the views unchanged", async () => {
    const org = `org_${crypto.randomUUID().slice(0, 8)}`;
    const day = Date.UTC(2026, 11, 1);
    const hour = (h: number) => day + h * 3_600_000;
    await runInDurableObject(ledgerStub(org), (ledger: OrgLedger, state) => {
      const sql = state.storage.sql;
      ledger.addKey(seededKey(1), created(seededKey(1).id));
      // As ledger schema 3 left it: one row per key, span and start.
      sql.exec("DROP TABLE usage_days");
      sql.exec(`CREATE TABLE usage_buckets (key_id TEXT NOT NULL, span TEXT NOT NULL, start INTEGER NOT NULL, admitted INTEGER NOT NULL,
        refused TEXT NOT NULL, PRIMARY KEY (key_id, span, start))`);
      sql.exec("CREATE INDEX usage_buckets_by_time ON usage_buckets (span, start)");
      const id = seededKey(1).id;
      for (const [span, start, admitted, refused] of [
        ["hour", hour(3), 5, "{}"],
        ["hour", hour(4), 7, '{"RATE_LIMITED":2}'],
        ["day", day, 12, '{"RATE_LIMITED":2}'],
        ["hour", hour(24 + 1), 1, "{}"],
        ["day", day + 86_400_000, 1, "{}"],
      ] as const) {
        sql.exec("INSERT INTO usage_buckets VALUES (?, ?, ?, ?, ?)", id, span, start, admitted, refused);
      }
      sql.exec("UPDATE keyward_schema SET version = 3");
      new OrgLedger(state, {});
      expect(storedVersion(sql)).toBe(LEDGER_SCHEMA_VERSION);
      expect(sql.exec("SELECT name FROM sqlite_master WHERE name LIKE 'usage_buckets%'").toArray()).toEqual([]);
      expect(sql.exec("SELECT day, admitted FROM usage_days ORDER BY day").toArray()).toEqual([
        { day, admitted: 12 },
        { day: day + 86_400_000, admitted: 1 },
      ]);
      const hours = ledger.keyUsage(id, "hour", day, day + 2 * 86_400_000)?.buckets;
      expect(hours).toEqual([
        { start: hour(3), admitted: 5, refused: {} },
        { start: hour(4), admitted: 7, refused: { RATE_LIMITED: 2 } },
        { start: hour(25), admitted: 1, refused: {} },
      ]);
      expect(ledger.orgUsage("day", day, day + 2 * 86_400_000).totals).toEqual({ admitted: 13, refused: { RATE_LIMITED: 2 } });
    });
  });
});
