// @ts-check
// The bench's child processes (the origin and workerd) and their end: each is
// killed when the bench exits, however it exits, and the temporary Durable
// Object storage is removed after them.
import { fork, spawn } from "node:child_process";
import { rmSync } from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { log } from "./log.mjs";
import { fdLimit } from "./machine.mjs";
import { BENCH_DIR, BUILD_DIR, WORKERD } from "./workerd.mjs";

/** @type {import("node:child_process").ChildProcess[]} */
const children = [];
/** @type {string[]} */
const temporaryDirs = [];
let shuttingDown = false;

function cleanup() {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
  }
}
process.on("exit", cleanup);
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    cleanup();
    // The storage of a killed workerd is no use to anyone (tmpfs holds it in memory).
    for (const dir of temporaryDirs) rmSync(dir, { recursive: true, force: true });
    process.exit(130);
  });
}

/** Removes a directory once the children have exited (the temporary Durable Object storage). */
export function removeAtEnd(dir) {
  temporaryDirs.push(dir);
}

/** Stops the children; from now on a workerd exit is expected, not a failure. */
export function stopChildren() {
  shuttingDown = true;
  cleanup();
}

/** Stops the children, waits for them (3 s at most each), then removes the temporary directories. */
export async function shutdown() {
  stopChildren();
  await Promise.all(
    children.map((child) =>
      child.exitCode !== null || child.signalCode !== null ? null : Promise.race([new Promise((r) => child.once("exit", r)), sleep(3000)]),
    ),
  );
  for (const dir of temporaryDirs) rmSync(dir, { recursive: true, force: true });
}

/** Starts the origin (bench/lib/origin.mjs) in its own process; resolves once it listens. */
export async function startOrigin() {
  const child = fork(path.join(BENCH_DIR, "lib", "origin.mjs"), [], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  children.push(child);
  const port = await new Promise((resolve, reject) => {
    child.once("message", (m) => resolve(/** @type {{ port: number }} */ (m).port));
    child.once("exit", (code) => reject(new Error(`origin exited with ${code}`)));
  });
  return { child, port, url: `http://127.0.0.1:${port}` };
}

/**
 * Starts `workerd serve` on a config; resolves with the port of each socket (and
 * of the inspector) once all listen. An exit after that, unless shutting down, ends the bench.
 */
export async function startWorkerd({ configFile, sockets, logFile, inspector = false }) {
  // Raise the soft open-file limit to the hard one for workerd (scenario (c)).
  const extra = inspector ? "--inspector-addr=127.0.0.1:0" : "";
  const command = `ulimit -n ${fdLimit} 2>/dev/null; exec "$0" serve --control-fd=3 ${extra} "$1" 2>>"$2"`;
  const child = spawn("sh", ["-c", command, WORKERD, configFile, logFile], {
    cwd: BUILD_DIR,
    // stdout carries Keyward's per-request log line: discarded, as without Logpush.
    stdio: ["ignore", "ignore", "inherit", "pipe"],
  });
  children.push(child);
  const ports = {};
  let buffer = "";
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`workerd did not start within 30 s; see ${logFile}`)), 30_000);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`workerd exited with ${code}; see ${logFile}`));
    });
    child.stdio[3]?.on("data", (chunk) => {
      buffer += chunk;
      let newline = buffer.indexOf("\n");
      while (newline >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        newline = buffer.indexOf("\n");
        try {
          const message = JSON.parse(line);
          if (message.event === "listen") ports[message.socket] = message.port;
          if (message.event === "listen-inspector") ports["(inspector)"] = message.port;
        } catch {}
      }
      if (sockets.every((s) => ports[s] !== undefined) && (!inspector || ports["(inspector)"] !== undefined)) {
        clearTimeout(timer);
        child.removeAllListeners("exit");
        child.once("exit", (code, signal) => {
          if (!shuttingDown) {
            log(`workerd exited unexpectedly (${code ?? signal}); see ${logFile}`);
            process.exit(1);
          }
        });
        resolve(undefined);
      }
    });
  });
  return { child, ports };
}
