import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import storageDoc from "../docs/storage.md?raw";

// docs/storage.md is the schema a reader trusts: every table and column of each
// Durable Object class, in its "| table | columns |" list, checked here against
// what the class really creates (sqlite_master and PRAGMA table_info).

type Schema = Record<string, string[]>;

/** The "| table | columns |" list of the doc's section on Durable Object `className`. */
function documented(doc: string, className: string): Schema {
  const lines = doc.split("\n");
  const start = lines.findIndex((l) => l.startsWith(`## Durable Object \`${className}\``));
  if (start < 0) throw new Error(`docs/storage.md has no section "## Durable Object \`${className}\`"`);
  const end = lines.findIndex((l, i) => i > start && l.startsWith("## "));
  const section = lines.slice(start, end < 0 ? undefined : end);
  const header = section.findIndex((l) => /^\|\s*table\s*\|\s*columns\s*\|$/.test(l.trim()));
  if (header < 0) throw new Error(`the ${className} section of docs/storage.md has no "| table | columns |" list`);
  const schema: Schema = {};
  for (const line of section.slice(header + 2)) {
    if (!line.startsWith("|")) break;
    const [, table, columns] = line.split("|");
    const name = (table ?? "").trim().replace(/`/g, "");
    schema[name] = [...(columns ?? "").matchAll(/`([^`]+)`/g)].map((m) => m[1] as string).sort();
  }
  return schema;
}

/** The tables and columns the object's storage holds (SQLite's and Cloudflare's own tables aside). */
function actual(state: DurableObjectState): Schema {
  const sql = state.storage.sql;
  const schema: Schema = {};
  for (const row of sql.exec("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%'").toArray()) {
    const table = String(row.name);
    schema[table] = sql
      .exec(`PRAGMA table_info('${table}')`)
      .toArray()
      .map((c) => String(c.name))
      .sort();
  }
  return schema;
}

const classes: [string, () => DurableObjectStub][] = [
  ["KeyGuard", () => env.KEY_GUARD.get(env.KEY_GUARD.idFromName(`key_doc${crypto.randomUUID().slice(0, 8)}`)) as unknown as DurableObjectStub],
  ["OrgLedger", () => env.ORG_LEDGER.get(env.ORG_LEDGER.idFromName(`org_doc${crypto.randomUUID().slice(0, 8)}`)) as unknown as DurableObjectStub],
  [
    "ConsoleSessions",
    () => {
      const sessions = env.CONSOLE_SESSIONS as DurableObjectNamespace;
      return sessions.get(sessions.idFromName(`org_doc${crypto.randomUUID().slice(0, 8)}`));
    },
  ],
];

describe("docs/storage.md lists every table and column each Durable Object creates", () => {
  it.each(classes)("%s: the documented tables and columns are exactly those in its storage", async (className, stub) => {
    const doc = documented(storageDoc, className);
    const real = await runInDurableObject(stub(), (_object: unknown, state: DurableObjectState) => actual(state));
    expect(Object.keys(real).length).toBeGreaterThan(0);
    expect(Object.fromEntries(Object.entries(doc).sort())).toEqual(Object.fromEntries(Object.entries(real).sort()));
  });

  it("reads the list as written: a table or column missing from the doc is found", () => {
    const doc =
      "## Durable Object `X`\n\n| table | columns |\n| --- | --- |\n| `t` | `a`, `b` |\n\n## Next\n| table | columns |\n| --- | --- |\n| `u` | `c` |\n";
    expect(documented(doc, "X")).toEqual({ t: ["a", "b"] });
    expect(() => documented("## Durable Object `X`\n", "X")).toThrow(/no "\| table \| columns \|" list/);
  });
});
