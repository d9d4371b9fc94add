// @ts-check
// Measuring on the running gateways: one measured run with the CPU it cost each
// process, a sweep over a scenario's keys, and a wait until workerd is idle.
import { setTimeout as sleep } from "node:timers/promises";
import { runLoad } from "./load.mjs";
import { elapsed, log } from "./log.mjs";
import { cpuMs, cpuTimes, memoryOf } from "./machine.mjs";

/**
 * Fetches JSON, throwing on a non-2xx answer.
 * @param {string} url
 * @param {RequestInit} [init]
 */
export async function json(url, init) {
  const response = await fetch(url, init);
  if (!response.ok) throw new Error(`${init?.method ?? "GET"} ${url}: ${response.status} ${await response.text()}`);
  return response.json();
}

/**
 * The measuring helpers bound to one workerd and one origin process.
 * @param {{ workerd: { child: import("node:child_process").ChildProcess }, origin: { child: import("node:child_process").ChildProcess }, port: (service: string) => number }} processes
 */
export function measurer({ workerd, origin, port }) {
  const workerdCpu = () => cpuMs(workerd.child.pid);
  /**
   * workerd's state with no load on it, as a log line's tail: its CPU over one idle second (work
   * left running in the background would be charged to the next run), resident memory and open files.
   */
  const workerdState = async () => {
    const before = workerdCpu();
    await sleep(1000);
    const idleMs = workerdCpu() - before;
    const m = memoryOf(workerd.child.pid);
    return `workerd idle CPU ${idleMs.toFixed(0)} ms in 1 s, RSS ${m.rssMiB.toFixed(0)} MiB, ${m.openFiles} open files`;
  };

  /**
   * Waits until workerd is idle: the deferred work a run leaves behind (flush
   * timers, and the usage reports each guard's alarm sends about 5 s after a key's
   * first unreported request) is done before the next scenario, so that it is not
   * charged to that scenario. Returns the workerd CPU ms spent meanwhile: the
   * deferred work's cost.
   */
  async function settle(minSeconds) {
    const start = workerdCpu();
    const until = Date.now() + (minSeconds + 30) * 1000;
    await sleep(minSeconds * 1000);
    for (;;) {
      const before = workerdCpu();
      await sleep(1000);
      // Idle: at most two 10 ms clock ticks in a second.
      if (workerdCpu() - before <= 20 || Date.now() > until) break;
    }
    return workerdCpu() - start;
  }

  async function sweep(scenario) {
    // workerd evicts a Durable Object after 10 s idle (production: minutes), and
    // records leave the isolate cache after 30 s: while the other scenarios ran,
    // (c) lost both. One request per key brings them back before measuring.
    const result = await runLoad({ port: port(scenario.service), keys: scenario.keys, connections: 32, amount: scenario.keys.length });
    log(`  [${elapsed()}] swept ${scenario.keys.length} keys in ${result.seconds}s ${JSON.stringify(result.statuses)}`);
  }

  /**
   * A gateway's storage counts (bench/workers/storage-counts.ts: its objects' wakes, SQL
   * statements, rows read and written) and its guard RPCs, or null for a service without them.
   */
  async function storageCounts(service) {
    try {
      const counters = await json(`http://127.0.0.1:${port(service)}/__bench/counters`);
      if (!counters.storage) return null;
      const rpcs = Object.values(counters.guard ?? {}).reduce((a, n) => a + Number(n), 0);
      return { ...counters.storage, rpcs };
    } catch {
      return null;
    }
  }

  /**
   * One measured run of a scenario (after `warmup` unmeasured seconds), with the CPU per request of workerd
   * (and its user and kernel parts), the origin and the load generator, workerd's minor page faults per
   * request, and the gateway's storage counts per request.
   */
  async function measure(scenario, connections, seconds, warmup) {
    const path = scenario.path ? { path: scenario.path } : {};
    if (warmup > 0) await runLoad({ port: port(scenario.service), keys: scenario.keys, connections, seconds: warmup, ...path });
    const counts0 = await storageCounts(scenario.service);
    const cpu0 = { workerd: cpuTimes(workerd.child.pid), origin: cpuMs(origin.child.pid), load: process.cpuUsage() };
    const result = await runLoad({ port: port(scenario.service), keys: scenario.keys, connections, seconds, ...path });
    const load = process.cpuUsage(cpu0.load);
    const workerd1 = cpuTimes(workerd.child.pid);
    const counts1 = await storageCounts(scenario.service);
    const per = (ms) => (ms * 1000) / Math.max(1, result.requests);
    result.cpuMicrosPerRequest = {
      workerd: per(workerd1.user + workerd1.system - cpu0.workerd.user - cpu0.workerd.system),
      workerdUser: per(workerd1.user - cpu0.workerd.user),
      workerdSystem: per(workerd1.system - cpu0.workerd.system),
      origin: per(cpuMs(origin.child.pid) - cpu0.origin),
      loadGenerator: per((load.user + load.system) / 1000),
    };
    // Not CPU, so not in cpuMicrosPerRequest: workerd's minor page faults per request.
    result.workerdMinorFaultsPerRequest = (workerd1.minorFaults - cpu0.workerd.minorFaults) / Math.max(1, result.requests);
    if (counts0 && counts1) {
      const n = Math.max(1, result.requests);
      result.storagePerRequest = Object.fromEntries(Object.keys(counts1).map((k) => [k, (counts1[k] - counts0[k]) / n]));
    }
    if (result.non2xx > 0 || result.errors > 0) {
      log(`  warning: ${scenario.id} c=${connections}: ${result.non2xx} non-2xx, ${result.errors} errors ${JSON.stringify(result.statuses)}`);
    }
    return result;
  }

  return { workerdCpu, workerdState, settle, sweep, measure, storageCounts };
}
