// The audit API pages and filters like the key list, and a flood of repeated leak
// reports is one entry with a count (issue 21, "Audit paging"; threats.md 86).
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { randomId } from "../src/keys/key-format";
import type { AuditEvent } from "../src/ledger/audit-log";
import { adminClient, adminHeaders, newOrg, operatorHeaders } from "./support/admin-client";

type Entry = { at: string; actor: string; action: string; keyId: string; requestId: string; count: number };
type Page = { events: Entry[]; nextCursor: string | null };

const ledgerOf = (org: string) => env.ORG_LEDGER.get(env.ORG_LEDGER.idFromName(org));

/** Appends audit entries straight to an org's ledger (as the admin API would), one a second from `start`. */
async function seed(org: string, events: Partial<AuditEvent>[], start = Date.UTC(2026, 6, 1)) {
  const ledger = ledgerOf(org);
  for (const [i, e] of events.entries()) {
    await ledger.recordAudit({
      at: start + i * 1000,
      actor: "user:a",
      action: "key.meta_changed",
      keyId: "key_00000000000000000000",
      requestId: `req_${i}`,
      detail: {},
      ...e,
    });
  }
}

describe("audit paging and filters", () => {
  it("pages 620 entries newest first, each exactly once, past the 500 the log used to stop at", async () => {
    const client = adminClient();
    const org = newOrg();
    await seed(
      org,
      Array.from({ length: 620 }, () => ({})),
    );
    const headers = await adminHeaders(org);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await client.api(`/orgs/${org}/audit?limit=250${cursor ? `&cursor=${cursor}` : ""}`, { headers });
      expect(res.status).toBe(200);
      const page = (await res.json()) as Page;
      seen.push(...page.events.map((e) => e.requestId));
      cursor = page.nextCursor;
      pages++;
    } while (cursor !== null);
    expect(pages).toBe(3);
    expect(seen).toEqual(Array.from({ length: 620 }, (_, i) => `req_${619 - i}`));
    // The default page is 100.
    expect(((await (await client.api(`/orgs/${org}/audit`, { headers })).json()) as Page).events).toHaveLength(100);
  });

  it("filters by key, action, actor and time on the server, and pages the filtered log", async () => {
    const client = adminClient();
    const org = newOrg();
    const keyA = randomId("key");
    const start = Date.UTC(2026, 6, 1);
    await seed(
      org,
      Array.from({ length: 40 }, (_, i) => ({
        keyId: i % 4 === 0 ? keyA : randomId("key"),
        action: i % 2 === 0 ? "key.disabled" : "key.enabled",
        actor: i < 20 ? "user:a" : "operator",
      })),
      start,
    );
    const headers = await adminHeaders(org);
    const get = async (query: string) => {
      const res = await client.api(`/orgs/${org}/audit?${query}`, { headers });
      expect(res.status, query).toBe(200);
      return ((await res.json()) as Page).events.map((e) => Number(e.requestId.slice(4)));
    };
    expect(await get(`key=${keyA}`)).toEqual([36, 32, 28, 24, 20, 16, 12, 8, 4, 0]);
    expect(await get(`key=${keyA}&action=key.disabled&actor=operator`)).toEqual([36, 32, 28, 24, 20]);
    const since = new Date(start + 10_000).toISOString();
    const until = new Date(start + 13_000).toISOString();
    expect(await get(`since=${since}&until=${until}`)).toEqual([12, 11, 10]);
    const first = (await (await client.api(`/orgs/${org}/audit?key=${keyA}&limit=4`, { headers })).json()) as Page;
    expect(first.events.map((e) => e.requestId)).toEqual(["req_36", "req_32", "req_28", "req_24"]);
    const second = (await (await client.api(`/orgs/${org}/audit?key=${keyA}&limit=4&cursor=${first.nextCursor}`, { headers })).json()) as Page;
    expect(second.events.map((e) => e.requestId)).toEqual(["req_20", "req_16", "req_12", "req_8"]);
  });

  it("refuses a cursor of other filters or another org, and bad filters, with 400 naming them", async () => {
    const client = adminClient();
    const org = newOrg();
    const other = newOrg();
    await seed(
      org,
      Array.from({ length: 5 }, () => ({})),
    );
    await seed(
      other,
      Array.from({ length: 5 }, () => ({})),
    );
    const headers = await adminHeaders(org);
    const { nextCursor } = (await (await client.api(`/orgs/${org}/audit?limit=2`, { headers })).json()) as Page;
    const { nextCursor: foreign } = (await (await client.api(`/orgs/${other}/audit?limit=2`, { headers: operatorHeaders() })).json()) as Page;
    for (const [query, field] of [
      [`limit=2&cursor=${nextCursor}&action=key.created`, "cursor"],
      [`limit=2&cursor=${foreign}`, "cursor"],
      ["cursor=nonsense", "cursor"],
      ["key=not-a-key", "key"],
      ["action=key.sneezed", "action"],
      ["since=yesterday", "since"],
      ["limit=0", "limit"],
      ["limit=1001", "limit"],
      ["actor=%00", "actor"],
    ] as const) {
      const res = await client.api(`/orgs/${org}/audit?${query}`, { headers });
      expect(res.status, query).toBe(400);
      expect(await res.json(), query).toMatchObject({ code: "INVALID_REQUEST", field });
    }
  });
});

describe("86. repeated leak reports of one key are one entry with a count", () => {
  it("counts repeats within a minute of the entry in it, opens a new entry after, and keeps other keys and actions apart", async () => {
    const client = adminClient();
    const org = newOrg();
    const keyA = randomId("key");
    const keyB = randomId("key");
    const start = Date.UTC(2026, 6, 1);
    const again = (keyId: string, at: number) => ({ action: "key.leak_reported_again" as const, keyId, actor: "report", at });
    const ledger = ledgerOf(org);
    for (let i = 0; i < 30; i++) await ledger.recordAudit({ requestId: `req_a${i}`, detail: {}, ...again(keyA, start + i * 1000) });
    await ledger.recordAudit({ requestId: "req_b", detail: {}, ...again(keyB, start + 5000) });
    // A minute after the first of keyA's: a new entry.
    await ledger.recordAudit({ requestId: "req_a_later", detail: {}, ...again(keyA, start + 60_000) });
    await ledger.recordAudit({ requestId: "req_admin", detail: {}, action: "key.disabled", keyId: keyA, actor: "user:a", at: start + 61_000 });
    const page = (await (await client.api(`/orgs/${org}/audit`, { headers: await adminHeaders(org) })).json()) as Page;
    expect(page.events.map((e) => [e.action, e.keyId, e.count, e.requestId])).toEqual([
      ["key.disabled", keyA, 1, "req_admin"],
      ["key.leak_reported_again", keyA, 1, "req_a_later"],
      ["key.leak_reported_again", keyB, 1, "req_b"],
      ["key.leak_reported_again", keyA, 30, "req_a0"],
    ]);
  });
});
