// @ts-check
// The machine the bench runs on: its description for the report, a process's CPU
// time from /proc, and the open-file limit that caps the many-keys scenario.
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import os from "node:os";
import { WORKERD } from "./workerd.mjs";

function sh(command) {
  try {
    return execFileSync("sh", ["-c", command], { encoding: "utf8" }).trim();
  } catch {
    return null;
  }
}

const CLK_TCK = Number(sh("getconf CLK_TCK") ?? 100);

/**
 * User and system CPU time (ms) a process has used, from /proc/<pid>/stat (10 ms clock ticks), and its
 * minor page faults (pages the kernel mapped in without reading them: memory handed back and touched again).
 */
export function cpuTimes(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return { user: (Number(fields[11]) * 1000) / CLK_TCK, system: (Number(fields[12]) * 1000) / CLK_TCK, minorFaults: Number(fields[7]) };
  } catch {
    return { user: Number.NaN, system: Number.NaN, minorFaults: Number.NaN };
  }
}

/**
 * A process's resident memory (MiB, VmRSS in /proc/<pid>/status) and open files: what the
 * throughput phase logs before each round and each pair, to tell a process that grew from one that did not.
 */
export function memoryOf(pid) {
  try {
    const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return { rssMiB: rss ? Number(rss[1]) / 1024 : Number.NaN, openFiles: readdirSync(`/proc/${pid}/fd`).length };
  } catch {
    return { rssMiB: Number.NaN, openFiles: Number.NaN };
  }
}

/** User plus system CPU time (ms) a process has used. */
export function cpuMs(pid) {
  const { user, system } = cpuTimes(pid);
  return user + system;
}

const fdHard = Number(sh("ulimit -Hn")) || 1024;
/** The hard open-file limit, which workerd is started with. */
export const fdLimit = fdHard === Number.POSITIVE_INFINITY || Number.isNaN(fdHard) ? 1_048_576 : fdHard;
// Each live SQLite-backed Durable Object holds three files open in workerd
// (.sqlite, -wal, -shm); scenario (c) keeps one guard per key alive.
/** How many keys scenario (c) can keep live guards for under the open-file limit. */
export const keyCap = Math.max(100, Math.floor((fdLimit - 2000) / 3 / 1000) * 1000);

/** What the report says about the machine. */
export const machine = {
  nproc: Number(sh("nproc")) || os.availableParallelism(),
  cpu: os.cpus()[0]?.model ?? "unknown",
  memoryGiB: Math.round(os.totalmem() / 2 ** 30),
  node: process.version,
  workerd: sh(`"${WORKERD}" --version`),
  platform: `${os.platform()} ${os.release()}`,
  openFileLimit: { soft: Number(sh("ulimit -Sn")), hard: fdLimit },
};
