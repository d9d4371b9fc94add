import { describe, expect, it } from "vitest";
import { type AnomalyType, counted, DEFAULT_THRESHOLDS, detectAnomalies, parseThresholds } from "../src/usage/anomaly-rules";
import { type Caller, DAY_MS, emptyUsage, HOUR_MS, MINUTE_MS, markReported, type Outcome, recordUsage } from "../src/usage/usage-book";

const T0 = Date.UTC(2027, 2, 1, 0, 0, 0);
const ok: Outcome = { admitted: true };
const no = (code: string): Outcome => ({ admitted: false, code });
const from = (country: string | null, over: Partial<Caller> = {}): Caller => ({ country, asn: 3320, colo: "FRA", browser: false, agent: "curl", ...over });

/** A key's life on a fake clock: requests, and reports (as the guard's alarm makes them). */
function life() {
  const state = emptyUsage();
  let last: AnomalyType[] = [];
  const api = {
    state,
    req(at: number, outcome: Outcome = ok, caller: Caller | null = null, times = 1) {
      recordUsage(state, at, outcome, caller, times);
      return api;
    },
    /** Hourly traffic from `start` for `hours` hours, each hour one report. */
    hourly(start: number, hours: number, perHour: number, outcome: Outcome = ok, caller: Caller | null = null) {
      for (let h = 0; h < hours; h++) {
        api.req(start + h * HOUR_MS + 10 * MINUTE_MS, outcome, caller, perHour);
        api.report(start + h * HOUR_MS + 11 * MINUTE_MS);
      }
      return api;
    },
    report(at: number) {
      last = detectAnomalies(state, at).map((f) => f.type);
      markReported(state, at);
      return last;
    },
  };
  return api;
}

describe("anomaly rules: each raised by its pattern, none by the matching normal one (fake clock)", () => {
  const week = 7 * 24;
  const afterWeek = T0 + week * HOUR_MS;

  it("rate_spike: an hour over 10x the past week's median, above the floor", () => {
    const spike = life().hourly(T0, week, 100);
    spike.req(afterWeek + 5 * MINUTE_MS, ok, null, 5_000);
    expect(spike.report(afterWeek + 6 * MINUTE_MS)).toContain("rate_spike");
    const f = detectAnomalies(
      life()
        .hourly(T0, week, 100)
        .req(afterWeek + 5 * MINUTE_MS, ok, null, 5_000).state,
      afterWeek + 6 * MINUTE_MS,
    );
    expect(f.find((a) => a.type === "rate_spike")?.details).toMatchObject({ lastHour: 5_100, medianHourly: 100 }); // the previous hour's 100 fall inside the last 60 minutes;

    const steady = life().hourly(T0, week, 2_000);
    steady.req(afterWeek + 5 * MINUTE_MS, ok, null, 2_000);
    expect(steady.report(afterWeek + 6 * MINUTE_MS)).not.toContain("rate_spike");
    // A quiet key's first busy hour stays under the floor.
    const quiet = life().req(T0, ok, null, 900);
    expect(quiet.report(T0 + MINUTE_MS)).not.toContain("rate_spike");
  });

  it("new_country: first sighting after 7 days of settled history, not during the first week", () => {
    const settled = life().hourly(T0, 8 * 24, 1, ok, from("DE"));
    settled.req(T0 + 8 * DAY_MS + HOUR_MS, ok, from("BR"));
    expect(settled.report(T0 + 8 * DAY_MS + HOUR_MS + 1)).toContain("new_country");
    settled.req(T0 + 8 * DAY_MS + 2 * HOUR_MS, ok, from("BR"));
    expect(settled.report(T0 + 8 * DAY_MS + 2 * HOUR_MS + 1)).not.toContain("new_country");

    const young = life().hourly(T0, 3 * 24, 1, ok, from("DE"));
    young.req(T0 + 3 * DAY_MS + HOUR_MS, ok, from("BR"));
    expect(young.report(T0 + 3 * DAY_MS + HOUR_MS + 1)).not.toContain("new_country");
    const same = life().hourly(T0, 8 * 24, 1, ok, from("DE"));
    same.req(T0 + 8 * DAY_MS + HOUR_MS, ok, from("DE"));
    expect(same.report(T0 + 8 * DAY_MS + HOUR_MS + 1)).not.toContain("new_country");
  });

  it("new_asn: a network first seen after 7 days, not a known one", () => {
    const settled = life().hourly(T0, 8 * 24, 1, ok, from("DE"));
    settled.req(T0 + 8 * DAY_MS + HOUR_MS, ok, from("DE", { asn: 64512 }));
    const types = settled.report(T0 + 8 * DAY_MS + HOUR_MS + 1);
    expect(types).toContain("new_asn");
    expect(types).not.toContain("new_country");
    const same = life().hourly(T0, 8 * 24, 1, ok, from("DE"));
    same.req(T0 + 8 * DAY_MS + HOUR_MS, ok, from("DE", { asn: 3320 }));
    expect(same.report(T0 + 8 * DAY_MS + HOUR_MS + 1)).not.toContain("new_asn");
  });

  it("impossible_travel: two countries within 10 minutes, not 15 minutes apart, not with an unknown side", () => {
    const travel = life()
      .req(T0, ok, from("DE"))
      .req(T0 + 5 * MINUTE_MS, ok, from("US"));
    expect(travel.report(T0 + 6 * MINUTE_MS)).toContain("impossible_travel");

    const flight = life().req(T0, ok, from("DE"));
    flight.report(T0 + MINUTE_MS);
    flight.req(T0 + 15 * MINUTE_MS, ok, from("US"));
    expect(flight.report(T0 + 16 * MINUTE_MS)).not.toContain("impossible_travel");
    const unknown = life()
      .req(T0, ok, from(null))
      .req(T0 + MINUTE_MS, ok, from("US"));
    expect(unknown.report(T0 + 2 * MINUTE_MS)).not.toContain("impossible_travel");
  });

  it("browser_use: a request with browser headers, not a server's", () => {
    expect(
      life()
        .req(T0, ok, from("DE", { browser: true, agent: "chrome" }))
        .report(T0 + 1),
    ).toContain("browser_use");
    expect(
      life()
        .req(T0, ok, from("DE", { agent: "chrome" }))
        .report(T0 + 1),
    ).not.toContain("browser_use");
    // Reported once: the same requests do not raise it again at the next report.
    const once = life().req(T0, ok, from("DE", { browser: true }));
    once.report(T0 + 1);
    expect(once.req(T0 + MINUTE_MS, ok, from("DE")).report(T0 + 2 * MINUTE_MS)).not.toContain("browser_use");
  });

  it("says browser_use in words: 1 time, 2 times (not 'time(s)')", () => {
    const message = (n: number) => {
      const state = emptyUsage();
      recordUsage(state, T0, ok, from("DE", { browser: true }), n);
      return detectAnomalies(state, T0 + 1).find((f) => f.type === "browser_use")?.message;
    };
    expect(message(1)).toContain("from a web browser 1 time:");
    expect(message(2)).toContain("from a web browser 2 times:");
    expect([counted(0, "day"), counted(1, "day"), counted(30, "day")]).toEqual(["0 days", "1 day", "30 days"]);
  });

  it("refusal_run: over 100 RATE_LIMITED in 10 minutes, not 50", () => {
    const run = life();
    for (let m = 0; m < 5; m++) run.req(T0 + m * MINUTE_MS, no("RATE_LIMITED"), null, 30);
    expect(run.report(T0 + 5 * MINUTE_MS)).toContain("refusal_run");
    const normal = life();
    for (let m = 0; m < 10; m++) normal.req(T0 + m * MINUTE_MS, no("RATE_LIMITED"), null, 5);
    expect(normal.report(T0 + 10 * MINUTE_MS)).not.toContain("refusal_run");
  });

  it("refusal_run: permission refusals far above the key's normal, not at its usual level", () => {
    const week = 7 * 24;
    const run = life().hourly(T0, week, 5, no("INSUFFICIENT_PERMISSIONS"));
    run.req(T0 + week * HOUR_MS + 5 * MINUTE_MS, no("INSUFFICIENT_PERMISSIONS"), null, 200);
    expect(run.report(T0 + week * HOUR_MS + 6 * MINUTE_MS)).toContain("refusal_run");
    const usual = life().hourly(T0, week, 100, no("ORG_MISMATCH"));
    usual.req(T0 + week * HOUR_MS + 5 * MINUTE_MS, no("ORG_MISMATCH"), null, 100);
    expect(usual.report(T0 + week * HOUR_MS + 6 * MINUTE_MS)).not.toContain("refusal_run");
  });

  it("dormant_reuse: first use after 30 days of silence, not after 29", () => {
    const dormant = life().req(T0);
    dormant.report(T0 + 1);
    expect(dormant.req(T0 + 31 * DAY_MS).report(T0 + 31 * DAY_MS + 1)).toContain("dormant_reuse");
    const monthly = life().req(T0);
    monthly.report(T0 + 1);
    expect(monthly.req(T0 + 29 * DAY_MS).report(T0 + 29 * DAY_MS + 1)).not.toContain("dormant_reuse");
  });

  it("revoked_key_used: more than 10 tries of a revoked or expired key in an hour, not 5", () => {
    const tried = life();
    for (let i = 0; i < 12; i++) tried.req(T0 + i * 4 * MINUTE_MS, no(i % 2 ? "KEY_REVOKED" : "KEY_EXPIRED"));
    expect(tried.report(T0 + 50 * MINUTE_MS)).toContain("revoked_key_used");
    const few = life();
    for (let i = 0; i < 5; i++) few.req(T0 + i * MINUTE_MS, no("KEY_REVOKED"));
    expect(few.report(T0 + 10 * MINUTE_MS)).not.toContain("revoked_key_used");
  });

  it("a normal day raises nothing at all", () => {
    const day = life().hourly(T0, 9 * 24, 50, ok, from("DE"));
    day.req(T0 + 9 * DAY_MS + MINUTE_MS, ok, from("DE"), 50);
    expect(day.report(T0 + 9 * DAY_MS + 2 * MINUTE_MS)).toEqual([]);
  });
});

describe("anomaly thresholds", () => {
  it("are configurable: a higher floor silences a spike the default flags", () => {
    const s = emptyUsage();
    recordUsage(s, T0, ok, null, 1_500);
    expect(detectAnomalies(s, T0 + 1).map((f) => f.type)).toContain("rate_spike");
    expect(detectAnomalies(s, T0 + 1, parseThresholds('{"rateSpikeFloor": 5000}')).map((f) => f.type)).not.toContain("rate_spike");
  });

  it.each([
    ['{"rateSpikeFloor": -1}', "rateSpikeFloor"],
    ['{"speed": 1}', "speed"],
    ["not json", "JSON"],
  ])("refuse %s naming %s", (raw, field) => {
    expect(() => parseThresholds(raw)).toThrow(field);
  });

  it("default to the documented values", () => {
    expect(DEFAULT_THRESHOLDS).toMatchObject({ rateSpikeFactor: 10, rateSpikeFloor: 1000, settledHistoryDays: 7, travelWindowMinutes: 10, dormantDays: 30 });
  });
});
