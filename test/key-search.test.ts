import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { foldForSearch } from "../src/ledger/key-pages";
import { type LedgerKey, OrgLedger } from "../src/ledger/org-ledger";
import { countingNamespace } from "../test-support/counting";
import { harness } from "./support/harness";
import { SEEDED_AT, seededKey } from "./support/ledger-keys";
import { withSqlWatched } from "./support/sql-spy";
import { devToken } from "./support/tokens";

// The listing's search (`q`): label substring in any case, or the start of the
// key's prefix or id, decided inside the ledger's one query per page.

const ORG = () => `org_${crypto.randomUUID().slice(0, 8)}`;
const ledgerStub = (org: string) => env.ORG_LEDGER.get(env.ORG_LEDGER.idFromName(org));

type Page = { keys: { id: string; label: string; prefix: string; status: string; environment: string }[]; nextCursor: string | null };

function ledgerKey(i: number, label: string, overrides: Partial<LedgerKey> = {}): LedgerKey {
  return seededKey(i, {
    prefix: `sk_${i % 2 === 0 ? "live" : "test"}_${i.toString(16).padStart(8, "0")}`,
    label,
    // Keys share creation times, so the cursor's tie-break on id is exercised.
    createdAt: SEEDED_AT + Math.floor(i / 4),
    revokedAt: i % 5 === 0 ? 1_790_000_100_000 : null,
    ...overrides,
  });
}

async function seed(org: string, keys: LedgerKey[]) {
  await runInDurableObject(ledgerStub(org), (ledger: OrgLedger) => {
    for (const k of keys) ledger.addKey(k, { at: k.createdAt, actor: "user:seed", action: "key.created", keyId: k.id, requestId: "seed", detail: {} });
  });
}

/** 300 keys; every 7th is a "Billing worker", one is "ÜBER Billing" (non-ASCII case), the rest "service n". */
function fleet(): LedgerKey[] {
  return Array.from({ length: 300 }, (_, i) => ledgerKey(i, i === 299 ? "ÜBER Billing" : i % 7 === 0 ? `Billing worker ${i}` : `service ${i}`));
}

/** Rows SQLite read while `run` used the object's storage (each cursor read to its end). */
function rowsReadBy(state: DurableObjectState, run: () => void): number {
  let rows = 0;
  withSqlWatched(state, (_query, cursor) => (rows += cursor.rowsRead), run);
  return rows;
}

function setup(org: string) {
  const ledgerCalls: Record<string, number> = {};
  const h = harness({ ledgers: countingNamespace(env.ORG_LEDGER, ledgerCalls) });
  const total = () => Object.values(ledgerCalls).reduce((a, b) => a + b, 0);
  const get = async (query: string) => {
    const res = await h.send(`/_keyward/v1/orgs/${org}/keys${query}`, { headers: { authorization: `Bearer ${await devToken({ org, role: "org:admin" })}` } });
    return res;
  };
  /** Every page of a listing, asserting each costs one ledger call and no guard call. */
  const all = async (query: string) => {
    const ids: string[] = [];
    const pages: Page[] = [];
    let cursor: string | null = null;
    do {
      const before = { ledger: total(), guard: h.calls.guard.length };
      const res = await get(`${query}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
      expect(res.status).toBe(200);
      const page = (await res.json()) as Page;
      expect(total() - before.ledger).toBe(1);
      expect(h.calls.guard.length - before.guard).toBe(0);
      pages.push(page);
      ids.push(...page.keys.map((k) => k.id));
      cursor = page.nextCursor;
    } while (cursor !== null);
    return { ids, pages };
  };
  return { h, get, all, ledgerCalls };
}

describe("key listing search (q)", () => {
  it("finds keys by a part of the label in any case, across pages, each match exactly once, one ledger call and no guard call a page", async () => {
    const org = ORG();
    const keys = fleet();
    await seed(org, keys);
    const { all, ledgerCalls } = setup(org);
    const expected = keys.filter((k) => k.label.toLowerCase().includes("billing")).map((k) => k.id);
    expect(expected).toHaveLength(44);
    const { ids, pages } = await all("?limit=10&q=BiLLiNG");
    expect(pages).toHaveLength(5);
    expect(ids).toHaveLength(expected.length);
    expect(new Set(ids)).toEqual(new Set(expected));
    // Non-ASCII letters fold too ("über" finds "ÜBER Billing"), which SQLite's lower() would not do.
    const uber = await all("?q=%C3%BCber");
    expect(uber.ids).toEqual([keys[299]?.id]);
    expect(ledgerCalls).toEqual({ listKeyPage: 6 });
  });

  it("finds keys by the start of their prefix or id, never by a part from the middle", async () => {
    const org = ORG();
    const keys = fleet();
    await seed(org, keys);
    const { all } = setup(org);
    // Prefixes sk_live_000000X0 .. (even i): "sk_live_000000f" is i = 0xf0..0xff, even.
    const byPrefix = await all("?limit=3&q=SK_LIVE_000000F");
    expect(new Set(byPrefix.ids)).toEqual(new Set(keys.filter((k) => k.prefix.startsWith("sk_live_000000f")).map((k) => k.id)));
    expect(byPrefix.ids).toHaveLength(8);
    const byId = await all(`?limit=3&q=${keys[42]?.id}`);
    expect(byId.ids).toEqual([keys[42]?.id]);
    const start = `key_${"0".repeat(18)}1`;
    const idStart = await all(`?limit=3&q=${start}`);
    expect(new Set(idStart.ids)).toEqual(new Set(keys.filter((k) => k.id.startsWith(start)).map((k) => k.id)));
    expect(idStart.ids).toHaveLength(16);
    // "live_0000" is inside every live prefix but starts none.
    expect((await all("?q=live_0000")).ids).toEqual([]);
  });

  it("combines the search with status and environment filters, and answers an empty last page for no match", async () => {
    const org = ORG();
    const keys = fleet();
    await seed(org, keys);
    const { all } = setup(org);
    const { ids } = await all("?limit=4&q=billing&status=revoked&environment=live");
    const expected = keys.filter((k) => k.label.toLowerCase().includes("billing") && k.revokedAt !== null && k.environment === "live").map((k) => k.id);
    expect(expected.length).toBeGreaterThan(2);
    expect(new Set(ids)).toEqual(new Set(expected));
    expect(ids).toHaveLength(expected.length);
    const none = await all("?q=nothing-like-this");
    expect(none.pages).toEqual([{ keys: [], nextCursor: null }]);
    // An empty search is no search.
    expect((await all("?limit=1000&q=")).ids).toHaveLength(300);
  });

  it("lists the keys whose revocation is scheduled with status=revoking, which stay among the active ones", async () => {
    const org = ORG();
    const later = Date.now() + 3_600_000;
    const keys = [
      ledgerKey(1, "scheduled", { revokeAt: later }),
      ledgerKey(2, "due already", { revokeAt: Date.now() - 1_000 }),
      ledgerKey(3, "disabled and scheduled", { revokeAt: later, disabledAt: Date.now() - 1_000 }),
      ledgerKey(4, "plain"),
      ledgerKey(5, "revoked"),
    ];
    await seed(org, keys);
    const { all } = setup(org);
    expect((await all("?status=revoking")).ids).toEqual([keys[0]?.id]);
    expect(new Set((await all("?status=active")).ids)).toEqual(new Set([keys[0]?.id, keys[3]?.id]));
    expect((await all("?status=revoking&q=plain")).ids).toEqual([]);
  });

  it("binds a cursor to its search and filters: another search's cursor is a 400 naming cursor, the same search in another case pages on", async () => {
    const org = ORG();
    await seed(org, fleet());
    const { get } = setup(org);
    const first = (await (await get("?limit=5&q=billing")).json()) as Page;
    const cursor = encodeURIComponent(first.nextCursor ?? "");
    expect((await get(`?limit=5&q=billing&cursor=${cursor}`)).status).toBe(200);
    expect((await get(`?limit=5&q=%20BILLING%20&cursor=${cursor}`)).status).toBe(200);
    for (const other of ["", "&q=service", "&q=billing&status=active", "&q=billing&environment=test", "&q=billing&sort=lastUsed"]) {
      const res = await get(`?limit=5${other}&cursor=${cursor}`);
      expect(res.status, other).toBe(400);
      expect(await res.json()).toMatchObject({ code: "INVALID_REQUEST", field: "cursor" });
    }
    // And an unfiltered cursor is no cursor for a search.
    const plain = (await (await get("?limit=5")).json()) as Page;
    expect((await get(`?limit=5&q=billing&cursor=${encodeURIComponent(plain.nextCursor ?? "")}`)).status).toBe(400);
  });

  it.each([
    [`?q=${"a".repeat(101)}`, "q", "at most 100"],
    ["?q=bill%00ing", "q", "control"],
    ["?q=%E2%80%AEgnillib", "q", "control"],
    ["?q=a&q=b", "q", "once"],
  ])("answers %s with 400 naming %s", async (query, field, words) => {
    const org = ORG();
    const { h, get } = setup(org);
    const res = await get(query);
    expect(res.status).toBe(400);
    const body = (await res.json()) as { code: string; field: string; message: string };
    expect(body).toMatchObject({ code: "INVALID_REQUEST", field });
    expect(body.message).toContain(words);
    expect(h.calls.guard).toEqual([]);
  });

  it("accepts a search of 100 characters, the longest label", async () => {
    const org = ORG();
    const label = "x".repeat(100);
    await seed(org, [ledgerKey(1, label), ledgerKey(2, "other")]);
    const { all } = setup(org);
    expect((await all(`?q=${label}`)).ids).toEqual([ledgerKey(1, label).id]);
  });

  it("finds keys stored before the search existed: the ledger folds their labels when it starts", async () => {
    const org = ORG();
    await seed(org, [ledgerKey(1, "Legacy Ärger"), ledgerKey(2, "new")]);
    await runInDurableObject(ledgerStub(org), (_ledger: OrgLedger, state) => {
      // A table as an older deploy left it, without the column (and without the schema version it now records).
      state.storage.sql.exec("ALTER TABLE keys DROP COLUMN label_fold");
      state.storage.sql.exec("DROP TABLE keyward_schema");
      // What a deploy does: the class starts again on the same storage.
      new OrgLedger(state, {});
      expect(state.storage.sql.exec("SELECT label_fold FROM keys ORDER BY id").toArray()).toEqual([{ label_fold: "legacy ärger" }, { label_fold: "new" }]);
      // Later starts do not read the key rows again: with 1,002 keys a start reads about 200 rows (the
      // column checks of the schema); reading the keys would add 1,002.
      for (let i = 10; i < 1_010; i++)
        _ledger.addKey(ledgerKey(i, `k${i}`), { at: 0, actor: "u", action: "key.created", keyId: "k", requestId: "r", detail: {} });
      expect(rowsReadBy(state, () => new OrgLedger(state, {}))).toBeLessThan(500);
    });
    const { all } = setup(org);
    expect((await all("?q=%C3%A4rger")).ids).toEqual([ledgerKey(1, "").id]);
  });

  it("pages any search into exactly its matches, in order, whatever the labels and the page size", async () => {
    const words = ["alpha", "Beta", "GAMMA", "ßeta", "İx", "a"];
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(fc.constantFrom(...words), { minLength: 1, maxLength: 3 }), { minLength: 0, maxLength: 25 }),
        fc.constantFrom(...words, "et", "AL", "sk_live", "key_0"),
        fc.integer({ min: 1, max: 7 }),
        async (labels, q, limit) => {
          const org = ORG();
          const keys = labels.map((parts, i) => ledgerKey(i, parts.join(" ")));
          await seed(org, keys);
          const { all } = setup(org);
          const folded = foldForSearch(q);
          const expected = keys.filter((k) => foldForSearch(k.label).includes(folded) || k.prefix.startsWith(folded) || k.id.startsWith(folded));
          // Newest first, ties by id: the listing's order.
          expected.sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? -1 : 1));
          const { ids } = await all(`?limit=${limit}&q=${encodeURIComponent(q)}`);
          expect(ids).toEqual(expected.map((k) => k.id));
        },
      ),
      { numRuns: 25 },
    );
  });

  it("describes q in the OpenAPI document", async () => {
    const doc = (await (await harness().send("/_keyward/v1/openapi.json")).json()) as {
      paths: Record<string, { get?: { parameters?: { name: string; schema: { maxLength?: number } }[] } }>;
    };
    const q = doc.paths["/orgs/{org}/keys"]?.get?.parameters?.find((p) => p.name === "q");
    expect(q?.schema.maxLength).toBe(100);
  });
});
