// @ts-check
// One kind of request priced by counting: its KV reads, Durable Object requests
// and rows written, read from the gateway's own counters before and after.
import { setTimeout as sleep } from "node:timers/promises";
import { runLoad } from "./load.mjs";
import { elapsed, log } from "./log.mjs";
import { json } from "./measure.mjs";
import { PRICES } from "./options.mjs";

/** The service a cost row's gateway is measured on. */
const serviceOf = (gateway) => (gateway === "peer" ? "peer" : gateway === "keyward-nousage" ? "keyward-nousage" : "keyward-hot");

/**
 * Returns `measureKind`, which sends one kind of request and appends its counted
 * row to `cost`, and `flushWait`, which waits until pending admissions are written.
 * @param {import("../phases/setup.mjs").Bench} bench
 * @param {object[]} cost
 */
export function costMeter({ quick, port, base }, cost) {
  const counters = (gateway) => json(`${base(serviceOf(gateway))}/__bench/counters`);
  const guardRows = async (records, gateway = "keyward") =>
    (await json(`${base(serviceOf(gateway))}/__bench/guards`, { method: "POST", body: JSON.stringify(records) })).reduce((n, s) => n + s.rowsWritten, 0);
  const limiterStats = async (ids) => {
    const stats = await json(`${base("peer")}/__bench/limiters`, { method: "POST", body: JSON.stringify(ids) });
    return stats.reduce((acc, s) => ({ put: acc.put + s.put, setAlarm: acc.setAlarm + s.setAlarm, alarms: acc.alarms + s.alarms }), {
      put: 0,
      setAlarm: 0,
      alarms: 0,
    });
  };
  const flushWait = () => sleep(quick ? 350 : 600); // > FLUSH_DELAY_MS (250 ms): pending admissions are written

  /**
   * @param {{ gateway: string, kind: string, keys: string[], records?: object[], limiterIds?: string[], sequentialGapMs?: number, rate?: number, expect: number }} kind
   *   records: the Keyward guards whose rows count; limiterIds: the peer's limiter objects; sequentialGapMs: one request at a time, this far apart
   */
  async function measureKind({ gateway, kind, keys, records = [], limiterIds = [], sequentialGapMs = 0, rate, expect }) {
    const before = await counters(gateway);
    const rows0 = gateway === "peer" ? await limiterStats(limiterIds) : { put: records.length ? await guardRows(records, gateway) : 0, setAlarm: 0, alarms: 0 };
    let statuses = {};
    let n = 0;
    if (sequentialGapMs > 0) {
      for (const key of keys) {
        const r = await fetch(`${base(serviceOf(gateway))}/v1/things`, { headers: { authorization: `Bearer ${key}` } });
        await r.arrayBuffer();
        statuses[r.status] = (statuses[r.status] ?? 0) + 1;
        n++;
        await sleep(sequentialGapMs);
      }
    } else {
      const result = await runLoad({ port: port(serviceOf(gateway)), keys, connections: 10, amount: keys.length, rate });
      statuses = result.statuses;
      n = result.requests;
    }
    await flushWait();
    const after = await counters(gateway);
    const rows1 = gateway === "peer" ? await limiterStats(limiterIds) : { put: records.length ? await guardRows(records, gateway) : 0, setAlarm: 0, alarms: 0 };
    const calls = (o) => Object.values(o).reduce((a, b) => a + b, 0);
    const doCalls = gateway === "peer" ? calls(after.limiter) - calls(before.limiter) : calls(after.guard) - calls(before.guard);
    const kvReads = after.kv.get - before.kv.get;
    const rowsWritten = rows1.put - rows0.put + (rows1.setAlarm - rows0.setAlarm);
    const alarms = rows1.alarms - rows0.alarms;
    const perRequest = {
      kvReads: kvReads / n,
      doRequests: (doCalls + alarms) / n,
      rowsWritten: rowsWritten / n,
      originRequests: (after.origin - before.origin) / n,
    };
    const dollarsPerMillion = perRequest.kvReads * PRICES.kvRead + perRequest.doRequests * PRICES.doRequest + perRequest.rowsWritten * PRICES.rowWritten;
    const row = { gateway, kind, requests: n, statuses, expect, kvReads, doCalls, alarms, rowsWritten, perRequest, dollarsPerMillion };
    cost.push(row);
    const unexpected = Object.keys(statuses).filter((s) => Number(s) !== expect);
    log(
      `  [${elapsed()}] ${gateway.padEnd(7)} ${kind.padEnd(17)} n=${n} kv=${perRequest.kvReads.toFixed(3)} do=${perRequest.doRequests.toFixed(3)} rows=${perRequest.rowsWritten.toFixed(3)} $${dollarsPerMillion.toFixed(3)}/M${unexpected.length ? `  unexpected statuses ${JSON.stringify(statuses)}` : ""}`,
    );
    return row;
  }

  return { measureKind, flushWait };
}
