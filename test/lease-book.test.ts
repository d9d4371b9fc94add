// Local admission's arithmetic (src/guard/lease-book.ts, lease-purse.ts), inside
// workerd with a simulated clock: several locations, each with its purse, one
// guard with its book and its own sliding window, driven by fast-check through
// random interleavings of requests, asks, grants still on their way, hand-backs,
// recalls (some holders unreachable), crashes, central admissions and revocation.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { LEASE_TTL_MS, LeaseBook, type LeaseReport } from "../src/guard/lease-book";
import { type LeaseGrant, LeasePurse } from "../src/guard/lease-purse";
import { SlidingWindow } from "../src/guard/sliding-window";

const W = 60_000;

/** The most admissions inside any interval of length W (each interval's count is largest when it starts at an admission). */
function maxInAnyWindow(times: number[]): number {
  const t = [...times].sort((a, b) => a - b);
  let best = 0;
  let j = 0;
  for (let i = 0; i < t.length; i++) {
    while ((t[i] as number) - (t[j] as number) >= W) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}

/** The guard and its locations, as the Durable Objects hold them, with one clock. */
class Sim {
  now = 1_000_000;
  book = new LeaseBook();
  window = new SlidingWindow();
  revoked = false;
  /** When the last revocation returned (after its recall); null: none yet. */
  revokeReturnedAt: number | null = null;
  purses: LeasePurse[];
  /** Grants on their way back to a holder: [grant, asked at]. */
  inFlight: Array<[LeaseGrant, number] | null>;
  admissions: number[] = [];
  afterRevoke = 0;

  constructor(
    readonly limit: number,
    locations: number,
  ) {
    this.purses = Array.from({ length: locations }, () => new LeasePurse());
    this.inFlight = Array.from({ length: locations }, () => null);
  }

  private admitted(): void {
    this.admissions.push(this.now);
    if (this.revokeReturnedAt !== null) this.afterRevoke++;
  }

  /** A request at `loc` admitted from its lease, if the lease can. */
  request(loc: number): boolean {
    const taken = this.purses[loc]?.take(this.now) ?? null;
    if (taken !== null) this.admitted();
    return taken !== null;
  }

  /** The guard's lease(): settles the report, then grants (or not). */
  private serve(loc: number, report: LeaseReport | null): LeaseGrant | null {
    if (report !== null) this.book.settle(String(loc), report, this.now, W);
    if (this.revoked) return null;
    const inWindow = this.window.count(this.now, W);
    const r = this.book.grant(String(loc), this.now, { limit: this.limit, windowMs: W, inWindow, windowResetMs: 0, endsAt: null });
    return r.granted
      ? { id: r.lease.id, units: r.lease.units, ttlMs: r.lease.expiresAt - this.now, epoch: r.lease.epoch, limit: this.limit, windowSeconds: 60 }
      : null;
  }

  /** The holder asks; the grant travels back until deliver(). */
  ask(loc: number): void {
    if (this.inFlight[loc] !== null) return; // one ask at a time per holder
    const purse = this.purses[loc] as LeasePurse;
    const grant = this.serve(loc, purse.handBack(this.now));
    if (grant !== null) this.inFlight[loc] = [grant, this.now];
  }

  deliver(loc: number): void {
    const flight = this.inFlight[loc];
    this.inFlight[loc] = null;
    if (flight) this.purses[loc]?.install(flight[0], flight[1]);
  }

  /** Ask and install at once (a holder next to its guard), then take. */
  requestOrAsk(loc: number): boolean {
    if (this.request(loc)) return true;
    this.ask(loc);
    this.deliver(loc);
    return this.request(loc);
  }

  /** A central admission (the guard's own window), leaving leased units alone. */
  central(): void {
    if (this.revoked) return;
    if (this.window.tryAdmit(this.now, this.limit - this.book.live(this.now, W), W).admitted) this.admitted();
  }

  crash(loc: number): void {
    this.purses[loc] = new LeasePurse();
    this.inFlight[loc] = null; // the ask's caller died with it
  }

  /**
   * A recall (revoke or limit change): the holders in `reachable` confirm; the
   * others are waited out until their lease's expiry, as the guard does.
   */
  recall(reachable: boolean[], revoke: boolean): void {
    if (revoke) this.revoked = true;
    const epoch = this.book.recall();
    let waitUntil = this.now;
    for (const lease of this.book.holders(this.now)) {
      const loc = Number(lease.holder);
      if (reachable[loc] !== false) {
        const report = this.purses[loc]?.recall(epoch, this.now) ?? null;
        if (report !== null) this.book.settle(lease.holder, report, this.now, W);
      } else waitUntil = Math.max(waitUntil, lease.expiresAt);
    }
    this.now = waitUntil;
    if (revoke) this.revokeReturnedAt = this.now;
  }
}

type Step =
  | { op: "request" | "serve" | "ask" | "deliver" | "crash" | "handBack"; loc: number }
  | { op: "tick"; ms: number }
  | { op: "central" }
  | { op: "recall"; reachable: boolean[]; revoke: boolean };

const step = (locations: number): fc.Arbitrary<Step> => {
  const loc = fc.nat({ max: locations - 1 });
  return fc.oneof(
    { weight: 5, arbitrary: loc.map((l) => ({ op: "request" as const, loc: l })) },
    // A request that asks when the lease is dry, and gets its grant at once (as LeaseHolder.check does).
    { weight: 5, arbitrary: loc.map((l) => ({ op: "serve" as const, loc: l })) },
    { weight: 3, arbitrary: loc.map((l) => ({ op: "ask" as const, loc: l })) },
    { weight: 3, arbitrary: loc.map((l) => ({ op: "deliver" as const, loc: l })) },
    { weight: 1, arbitrary: loc.map((l) => ({ op: "handBack" as const, loc: l })) },
    { weight: 1, arbitrary: loc.map((l) => ({ op: "crash" as const, loc: l })) },
    // Mostly short steps (many requests inside one window), sometimes past a lease's life or a window.
    { weight: 3, arbitrary: fc.integer({ min: 0, max: 1_500 }).map((ms) => ({ op: "tick" as const, ms })) },
    { weight: 1, arbitrary: fc.integer({ min: 1_500, max: 70_000 }).map((ms) => ({ op: "tick" as const, ms })) },
    { weight: 2, arbitrary: fc.constant({ op: "central" as const }) },
    {
      weight: 1,
      arbitrary: fc
        // A revocation ends a run's interest (nothing is granted after it): one recall in four is one.
        .record({ reachable: fc.array(fc.boolean(), { minLength: locations, maxLength: locations }), revoke: fc.nat({ max: 3 }).map((n) => n === 0) })
        .map((r) => ({ op: "recall" as const, ...r })),
    },
  );
};

function run(sim: Sim, steps: Step[]): void {
  for (const s of steps) {
    if (s.op === "tick") sim.now += s.ms;
    else if (s.op === "central") sim.central();
    else if (s.op === "recall") sim.recall(s.reachable, s.revoke);
    else if (s.op === "request") sim.request(s.loc);
    else if (s.op === "serve") sim.requestOrAsk(s.loc);
    else if (s.op === "ask") sim.ask(s.loc);
    else if (s.op === "deliver") sim.deliver(s.loc);
    else if (s.op === "crash") sim.crash(s.loc);
    else if (s.op === "handBack") {
      const report = sim.purses[s.loc]?.handBack(sim.now) ?? null;
      if (report !== null) sim.book.settle(String(s.loc), report, sim.now, W);
    }
  }
}

describe("local admission: leases are exact by construction", () => {
  it("never admits more than the limit in any window, and nothing after a revocation has returned, whatever the interleaving", () => {
    fc.assert(
      fc.property(
        fc
          .integer({ min: 2, max: 5 })
          .chain((locations) =>
            fc.tuple(fc.constant(locations), fc.integer({ min: 1, max: 20 }), fc.array(step(locations), { minLength: 50, maxLength: 400, size: "max" })),
          ),
        ([locations, limit, steps]) => {
          const sim = new Sim(limit, locations);
          run(sim, steps);
          expect(maxInAnyWindow(sim.admissions)).toBeLessThanOrEqual(limit);
          expect(sim.afterRevoke).toBe(0);
        },
      ),
      { numRuns: 500 },
    );
  });

  it("a grant still on its way when a recall returns is dropped by its holder", () => {
    const sim = new Sim(10, 2);
    sim.ask(0);
    sim.recall([true, true], true);
    sim.deliver(0);
    expect(sim.request(0)).toBe(false);
    expect(sim.afterRevoke).toBe(0);
  });

  it("an unreachable holder's lease dies by time: the recall returns only after its expiry, and it admits nothing after", () => {
    const sim = new Sim(10, 2);
    const start = sim.now;
    expect(sim.requestOrAsk(1)).toBe(true);
    sim.recall([true, false], true);
    expect(sim.now - start).toBe(LEASE_TTL_MS);
    // The holder never heard the recall, and still has units: its own clock ends the lease.
    expect(sim.request(1)).toBe(false);
  });

  it("a holder that crashes loses at most its own lease: the others keep theirs, and the rest of the window stays free", () => {
    fc.assert(
      fc.property(fc.integer({ min: 20, max: 500 }), fc.integer({ min: 2, max: 5 }), fc.nat({ max: 4 }), (limit, locations, pick) => {
        const crashed = pick % locations;
        const sim = new Sim(limit, locations);
        for (let l = 0; l < locations; l++) sim.requestOrAsk(l);
        const lost = (sim.book.holders(sim.now).find((l) => l.holder === String(crashed))?.units ?? 0) - 1;
        const leftBefore = sim.purses.map((p) => (p.usable(sim.now) ? 1 : 0));
        sim.crash(crashed);
        // Every other location still admits from the lease it had.
        for (let l = 0; l < locations; l++) if (l !== crashed && leftBefore[l] === 1) expect(sim.request(l)).toBe(true);
        // Then everyone asks until the window is used up: at most the crashed lease's unused units are missing.
        for (let i = 0; i < limit * 3; i++) sim.requestOrAsk(i % locations);
        expect(sim.admissions.length).toBeGreaterThanOrEqual(limit - lost);
        expect(sim.admissions.length).toBeLessThanOrEqual(limit);
      }),
      { numRuns: 100 },
    );
  });

  it("admits at least 90 % of the limit in every window under a uniform load over several locations", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 50, max: 400 }),
        fc.integer({ min: 1, max: 6 }),
        fc.double({ min: 1.2, max: 3, noNaN: true }),
        fc.nat(),
        (limit, locations, load, seed) => {
          const sim = new Sim(limit, locations);
          // `load` times the limit arrives per window, evenly spread, the locations in turn from a random start.
          const gap = W / (limit * load);
          const windows = 5;
          for (let i = 0; i * gap < windows * W; i++) {
            sim.now = 1_000_000 + Math.floor(i * gap);
            sim.requestOrAsk((seed + i) % locations);
          }
          for (let k = 1; k < windows; k++) {
            const from = 1_000_000 + k * W;
            const inWindow = sim.admissions.filter((t) => t >= from && t < from + W).length;
            expect(inWindow).toBeGreaterThanOrEqual(Math.ceil(0.9 * limit));
          }
          expect(maxInAnyWindow(sim.admissions)).toBeLessThanOrEqual(limit);
        },
      ),
      { numRuns: 60 },
    );
  });
});
