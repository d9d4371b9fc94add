// A location's lease holder hands back a lease it stopped using, from its alarm
// (src/guard/lease-holder.ts), so that the unused units flow to the other
// locations at once instead of staying counted until the lease's expiry plus the
// window. Driven through the real gateway, guard and holders inside workerd; the
// alarm's clock is a fake one passed in (LeaseHolder.hooks).
import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { holderName } from "../src/guard/lease-desk";
import { LeaseHolder } from "../src/guard/lease-holder";
import { DEV_LOCATION_HEADER } from "../src/guard/lease-location";
import { LEASE_IDLE_MS } from "../src/guard/lease-purse";
import { harness, seedKey } from "./support/harness";

type H = ReturnType<typeof harness>;
const at = (h: H, key: string, location: string) => h.call(key, "/v1/things", { headers: { [DEV_LOCATION_HEADER]: location } });

function holder(keyId: string, location: string) {
  const ns = env.LEASE_HOLDER;
  if (!ns) throw new Error("no LEASE_HOLDER binding");
  return ns.get(ns.idFromName(holderName(keyId, location)));
}

/** Runs the holder's alarm work at `now` (a fake clock). */
const sweepAt = (stub: DurableObjectStub<LeaseHolder>, now: number) => runInDurableObject(stub, (h: LeaseHolder) => LeaseHolder.hooks(h).sweep(now));
const alarmOf = (stub: DurableObjectStub<LeaseHolder>) => runInDurableObject(stub, (_h: LeaseHolder, state) => state.storage.getAlarm());
/** The holder's counts (a test hook: no RPC method). */
const countsOf = (stub: DurableObjectStub<LeaseHolder>) => runInDurableObject(stub, (h: LeaseHolder) => LeaseHolder.hooks(h).describe());

/** Sequential requests at one location; answers how many were admitted. */
async function admittedOf(h: H, key: string, location: string, requests: number): Promise<number> {
  let admitted = 0;
  for (let i = 0; i < requests; i++) if ((await at(h, key, location)).status === 200) admitted++;
  return admitted;
}

describe("a lease holder hands back a lease it stopped using", () => {
  it("sets its alarm when it takes a lease, for when the lease would be idle", async () => {
    const h = harness();
    const { key, record } = await seedKey({ limit: 100, admission: "local" });
    const before = Date.now();
    expect((await at(h, key, "SYD")).status).toBe(200);
    const alarm = await alarmOf(holder(record.id, "SYD"));
    expect(alarm).not.toBeNull();
    expect(alarm as number).toBeGreaterThanOrEqual(before);
    expect(alarm as number).toBeLessThanOrEqual(Date.now() + LEASE_IDLE_MS);
  });

  it("an idle location's unused units are free for the others at once: 99 of 100 admitted elsewhere, not 90", async () => {
    const h = harness();
    const { key, record } = await seedKey({ limit: 100, admission: "local" });
    // SYD takes a lease of 10 (a tenth of the limit) and uses one of it, then goes quiet.
    expect((await at(h, key, "SYD")).status).toBe(200);
    const syd = holder(record.id, "SYD");
    await sweepAt(syd, Date.now() + LEASE_IDLE_MS + 1);
    expect((await countsOf(syd)).returned).toBe(1);
    // FRA uses the window up: everything but SYD's one used unit. Without the hand-back,
    // SYD's 9 unused units would stay counted until the lease's expiry plus the window.
    expect(await admittedOf(h, key, "FRA", 110)).toBe(99);
    expect(h.calls.origin.length).toBe(100);
  });

  it("a lease still in use is kept: the alarm is set again for when it may be idle, and the location admits without asking", async () => {
    const h = harness();
    const { key, record } = await seedKey({ limit: 100, admission: "local" });
    expect((await at(h, key, "SYD")).status).toBe(200);
    const syd = holder(record.id, "SYD");
    await sweepAt(syd, Date.now() + LEASE_IDLE_MS / 2);
    expect((await countsOf(syd)).returned).toBe(0);
    expect(await alarmOf(syd)).not.toBeNull();
    expect((await at(h, key, "SYD")).status).toBe(200);
    expect(await countsOf(syd)).toMatchObject({ asks: 1, admitted: 2, returned: 0 });
  });

  it("the alarm itself runs the hand-back check: right after the lease was taken it keeps the lease", async () => {
    const h = harness();
    const { key, record } = await seedKey({ limit: 100, admission: "local" });
    expect((await at(h, key, "SYD")).status).toBe(200);
    const syd = holder(record.id, "SYD");
    expect(await runDurableObjectAlarm(syd)).toBe(true);
    expect(await countsOf(syd)).toMatchObject({ returned: 0, usable: true });
  });

  it("a holder with nothing held hands nothing back, and sets no alarm again", async () => {
    const h = harness();
    const { key, record } = await seedKey({ limit: 100, admission: "local" });
    expect((await at(h, key, "SYD")).status).toBe(200);
    const syd = holder(record.id, "SYD");
    await sweepAt(syd, Date.now() + LEASE_IDLE_MS + 1);
    await runInDurableObject(syd, (_h: LeaseHolder, state) => state.storage.deleteAlarm());
    await sweepAt(syd, Date.now() + 2 * LEASE_IDLE_MS);
    expect((await countsOf(syd)).returned).toBe(1);
    expect(await alarmOf(syd)).toBeNull();
  });
});
