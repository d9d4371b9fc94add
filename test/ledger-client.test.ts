import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ledgerClient } from "../src/ledger/ledger-client";
import type { OrgLedger } from "../src/ledger/org-ledger";
import { interceptNamespace } from "../test-support/counting";
import { adminHeaders, newOrg } from "./support/admin-client";
import { captureLogger, harness } from "./support/harness";

type Fault = "throw" | "hang" | "retryable" | "overloaded";

/** The real ledgers, with chosen methods failing and every call counted by name. */
function faultyLedgers(faults: Partial<Record<string, Fault>>, calls: string[] = []): DurableObjectNamespace<OrgLedger> {
  return interceptNamespace(env.ORG_LEDGER, async (method, _args, call) => {
    calls.push(method);
    const fault = faults[method];
    if (fault === "hang") return new Promise(() => {});
    if (fault === "throw") throw new Error("injected ledger fault");
    if (fault === "retryable") throw Object.assign(new Error("reset"), { retryable: true });
    if (fault === "overloaded") throw Object.assign(new Error("busy"), { overloaded: true });
    return call();
  });
}

const failingKv = { get: () => Promise.resolve(null), put: () => Promise.reject(new Error("KV down")) } as unknown as KVNamespace;

async function auditOf(org: string) {
  const res = await harness().send(`/_keyward/v1/orgs/${org}/audit`, { headers: await adminHeaders(org) });
  expect(res.status).toBe(200);
  return ((await res.json()) as { events: { action: string; keyId: string; detail: Record<string, unknown> }[] }).events;
}

describe("ledger client: deadline and fail-closed answers", () => {
  it("answers 503 AUTH_BACKEND_UNAVAILABLE when the ledger never answers, within the deadline", async () => {
    const org = newOrg();
    const calls: string[] = [];
    const h = harness({ ledgers: faultyLedgers({ listKeyPage: "hang" }, calls), vars: { GUARD_TIMEOUT_MS: "50" } });
    const started = Date.now();
    const res = await h.send(`/_keyward/v1/orgs/${org}/keys`, { headers: await adminHeaders(org) });
    expect(res.status).toBe(503);
    expect(((await res.json()) as { code: string }).code).toBe("AUTH_BACKEND_UNAVAILABLE");
    expect(res.headers.get("retry-after")).toBe("1");
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(calls).toEqual(["listKeyPage"]);
    expect(h.logs.some((l) => l.includes('"ledger_call_failed"') && l.includes('"op":"listKeyPage"'))).toBe(true);
  });

  it("answers 503 with a longer Retry-After when the ledger is overloaded, without retrying", async () => {
    const org = newOrg();
    const calls: string[] = [];
    const h = harness({ ledgers: faultyLedgers({ listKeyPage: "overloaded" }, calls) });
    const res = await h.send(`/_keyward/v1/orgs/${org}/keys`, { headers: await adminHeaders(org) });
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("2");
    expect(calls).toEqual(["listKeyPage"]);
  });

  it("retries a retryable read once, but never an audited write", async () => {
    const org = newOrg();
    const reads: string[] = [];
    const client = ledgerClient({
      namespace: faultyLedgers({ listKeyPage: "retryable", recordAudit: "retryable" }, reads),
      timeoutMs: 1_000,
      log: captureLogger([]),
    });
    await expect(
      client.listKeyPage(org, { org, limit: 10, cursor: null, status: null, environment: null, q: null, sort: "created", now: 0 }),
    ).rejects.toMatchObject({
      code: "AUTH_BACKEND_UNAVAILABLE",
    });
    expect(reads).toEqual(["listKeyPage", "listKeyPage"]);
    reads.length = 0;
    const event = { at: 1, actor: "x", action: "key.revoked" as const, keyId: "key_00000000000000000000", requestId: "r", detail: {} };
    await expect(client.recordAudit(org, event)).rejects.toMatchObject({ code: "AUTH_BACKEND_UNAVAILABLE" });
    expect(reads).toEqual(["recordAudit"]);
  });
});

describe("the audit log is append-only", () => {
  it("records a rolled-back creation as its own entry after key.created, and lists no key", async () => {
    const org = newOrg();
    const h = harness({ kv: failingKv });
    const res = await h.send(`/_keyward/v1/orgs/${org}/keys`, { method: "POST", headers: await adminHeaders(org), body: '{"label":"x"}' });
    expect(res.status).toBe(503);
    expect(((await res.json()) as { message: string }).message).toMatch(/no key was created/);
    const events = await auditOf(org);
    expect(events.map((e) => e.action)).toEqual(["key.creation_rolled_back", "key.created"]);
    expect(events[0]?.keyId).toBe(events[1]?.keyId);
    const list = await harness().send(`/_keyward/v1/orgs/${org}/keys`, { headers: await adminHeaders(org) });
    expect(((await list.json()) as { keys: unknown[] }).keys).toEqual([]);
  });

  it("surfaces a failed rollback in the log, the audit and the answer, naming the key to revoke", async () => {
    const org = newOrg();
    const h = harness({ kv: failingKv, ledgers: faultyLedgers({ rollBackKey: "throw" }) });
    const res = await h.send(`/_keyward/v1/orgs/${org}/keys`, { method: "POST", headers: await adminHeaders(org), body: '{"label":"x"}' });
    expect(res.status).toBe(503);
    const body = (await res.json()) as { message: string };
    expect(body.message).toMatch(/undoing its creation failed too: revoke key_[0-9a-f]{20}/);
    expect(body.message).not.toMatch(/sk_live_/);
    expect(h.logs.some((l) => l.includes('"key_rollback_failed"'))).toBe(true);
    const events = await auditOf(org);
    expect(events.map((e) => e.action)).toEqual(["key.rollback_failed", "key.created"]);
  });

  it("logs a failed rollback that the ledger could not even note", async () => {
    const org = newOrg();
    const h = harness({ kv: failingKv, ledgers: faultyLedgers({ rollBackKey: "throw", recordAudit: "throw" }) });
    const res = await h.send(`/_keyward/v1/orgs/${org}/keys`, { method: "POST", headers: await adminHeaders(org), body: '{"label":"x"}' });
    expect(res.status).toBe(503);
    expect(h.logs.some((l) => l.includes('"key_rollback_failed"'))).toBe(true);
    expect(h.logs.some((l) => l.includes('"key_rollback_unaudited"'))).toBe(true);
  });
});
