import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { KeyGuard } from "../src/guard/key-guard";
import { LeaseHolder } from "../src/guard/lease-holder";
import { OrgLedger } from "../src/ledger/org-ledger";
import { ConsoleSessions } from "../src/sessions/console-sessions";
import { guardStub } from "./support/harness";

// What a Durable Object offers over RPC is every method on its class's prototype,
// `private` ones included (TypeScript's `private` is gone at run time); its
// instance's own fields and `#` members are not offered. Test hooks and helpers
// must not be there (issue 24): anything holding the binding could call them,
// e.g. runAlarm(farFuture). They are `#` members, reached with the object in hand
// through a static `hooks`. A new RPC verb is a decision: add it to the list here.

/** The names a class offers over RPC (its prototype's own, the constructor aside), sorted. */
const offered = (cls: { prototype: object }) =>
  Object.getOwnPropertyNames(cls.prototype)
    .filter((name) => name !== "constructor")
    .sort();

/** Hooks that tests and the bench once called over RPC, and helpers that were on prototypes. */
const HOOKS = ["runAlarm", "flush", "record", "outbound", "enqueueEvent", "hooks", "adopt", "writeState", "rearm", "settle", "applyChange", "raiseAnomaly"];

describe("test hooks are not RPC methods", () => {
  it("the key guard offers its verbs and the alarm, and no hook (runAlarm, flush) or helper", () => {
    expect(offered(KeyGuard)).toEqual(
      [
        "adjustCredits",
        "alarm",
        "check",
        "describe",
        "lease",
        "note",
        "putCredits",
        "readUsage",
        "returnLease",
        "revoke",
        "roll",
        "setDisabled",
        "setLimit",
        "setLimits",
        "setMeta",
        "setOrgCredits",
        "setOrgLimit",
        "settleHold",
        "settleHolds",
      ].sort(),
    );
    for (const hook of HOOKS) expect(offered(KeyGuard)).not.toContain(hook);
  });

  it("the org ledger offers its verbs, and no way to queue any webhook event (signed with the org's secret) or swap its clock and network", () => {
    expect(offered(OrgLedger)).toEqual(
      [
        "acknowledgeAnomaly",
        "addKey",
        "alarm",
        "anomalies",
        "auditPage",
        "deliveries",
        "getKey",
        "getOrgLimit",
        "getWebhook",
        "keyUsage",
        "listKeyPage",
        "markLeaked",
        "markSynced",
        "markSyncedMany",
        // The guard's low-balance events: those two types only (credits.ts).
        "raiseCreditAlert",
        // Production calls it (ledger-client.ts: a create's rollback note, org credits).
        "recordAudit",
        "redeliver",
        "removeWebhook",
        "report",
        "rollBackKey",
        "setOrgLimit",
        "setWebhook",
        "updateKey",
        "updateKeys",
        "orgUsage",
      ].sort(),
    );
    for (const hook of HOOKS) expect(offered(OrgLedger)).not.toContain(hook);
  });

  it("the lease holder offers check, recall and the alarm only (its counts and sweep are test hooks)", () => {
    expect(offered(LeaseHolder)).toEqual(["alarm", "check", "recall"]);
    for (const hook of [...HOOKS, "describe", "sweep", "ask"]) expect(offered(LeaseHolder)).not.toContain(hook);
  });

  it("the console sessions object offers its verbs and the alarm, and no helper (insert, scheduleCleanup)", () => {
    expect(offered(ConsoleSessions)).toEqual(["alarm", "authenticate", "beginFlow", "end", "list", "mintLink", "openLink", "start", "takeFlow"]);
    for (const hook of [...HOOKS, "insert", "scheduleCleanup"]) expect(offered(ConsoleSessions)).not.toContain(hook);
  });

  it("the key guard's hooks work with the object in hand: flush writes the pending admission, runAlarm runs at the clock given", async () => {
    const keyId = `key_rpc${crypto.randomUUID().slice(0, 8)}`;
    const settings = { keyId, version: 1, limit: 100, windowSeconds: 60, expiresAt: null, revoked: false, revokeAt: Date.now() + 3_600_000 };
    const stub = guardStub(keyId);
    // In one turn of the object, so that no flush timer runs in between.
    const pending = await runInDurableObject(stub, (g: KeyGuard) => {
      for (let i = 0; i < 3; i++) g.check({ requestId: crypto.randomUUID(), consume: true, settings, caller: null });
      const before = KeyGuard.hooks(g).room.log.pendingCount;
      KeyGuard.hooks(g).flush();
      return { before, after: KeyGuard.hooks(g).room.log.pendingCount };
    });
    expect(pending).toEqual({ before: 3, after: 0 });
    expect((await stub.describe(settings)).inWindow).toBe(3);
    // The scheduled revocation is due at the hook's clock, an hour before the real one.
    await runInDurableObject(stub, (g: KeyGuard) => KeyGuard.hooks(g).runAlarm(Date.now() + 3_600_001));
    expect((await stub.describe(settings)).revoked).toBe(true);
  });

  it("the org ledger's hooks work with the object in hand", async () => {
    const org = `org_rpc${crypto.randomUUID().slice(0, 8)}`;
    const stub = env.ORG_LEDGER.get(env.ORG_LEDGER.idFromName(org));
    await runInDurableObject(stub, (ledger: OrgLedger) => {
      expect(Object.keys(ledger)).not.toContain("outbound");
      // A receiver that takes everything, so that the alarm the event wakes delivers it here.
      OrgLedger.hooks(ledger).setOutbound({ now: () => Date.now(), fetch: async () => new Response(null, { status: 204 }), timeoutMs: 1_000 });
      ledger.setWebhook({ org, url: "http://127.0.0.1:9/hook", events: ["key.revoked"], secret: "whsec_test", createdAt: 0 });
      expect(OrgLedger.hooks(ledger).enqueueEvent("key.revoked", { keyId: "key_00000000000000000000" })).toMatch(/^msg_/);
    });
    expect((await stub.deliveries()).map((d) => d.type)).toEqual(["key.revoked"]);
  });
});
