// @ts-check
// Cold start: how long a fresh workerd takes to serve its first request, for the
// Worker as `wrangler deploy --dry-run` builds it (what would ship) and, as the
// reference, the pass-through proxy. Each sample is a new workerd process.
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { BUILD_DIR, ROOT, WORKERD } from "./workerd.mjs";

const q = (text) => JSON.stringify(String(text));

/**
 * CPU time (ms) a process's threads have run, from /proc/<pid>/task/<tid>/schedstat
 * (nanoseconds): much less disturbed by other load on the machine than wall time.
 */
export function cpuTimeMs(pid) {
  try {
    let ns = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
    return ns / 1e6;
  } catch {
    return Number.NaN;
  }
}

/** Builds the Worker with `wrangler deploy --dry-run`; returns its modules (main first) and sizes. */
export function dryRunBuild() {
  const outdir = path.join(BUILD_DIR, "deploy");
  rmSync(outdir, { recursive: true, force: true });
  execFileSync(path.join(ROOT, "node_modules", ".bin", "wrangler"), ["deploy", "--dry-run", "--outdir", outdir], {
    cwd: ROOT,
    stdio: ["ignore", "ignore", "pipe"],
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" },
  });
  return bundleSizes(outdir);
}

/** Sizes of the JavaScript modules in a wrangler output directory; the main module is index.js. */
export function bundleSizes(outdir) {
  const files = readdirSync(outdir, { recursive: true })
    .map(String)
    .filter((f) => f.endsWith(".js") || f.endsWith(".mjs"));
  files.sort((a, b) => (a === "index.js" ? -1 : b === "index.js" ? 1 : a.localeCompare(b)));
  const modules = files.map((file) => {
    const bytes = readFileSync(path.join(outdir, file));
    return { file, bytes: statSync(path.join(outdir, file)).size, gzipBytes: gzipSync(bytes, { level: 9 }).length };
  });
  // The console's page, stylesheet and browser program are text modules beside index.js.
  const textModules = readdirSync(outdir, { recursive: true })
    .map(String)
    .filter((f) => /\.(txt|html|css)$/.test(f));
  return { outdir, modules, textModules, main: modules[0] };
}

function config({ target, storageDir, originPort }) {
  const modules = target.modules.map((m) => `(name = ${q(m.name)}, ${m.text ? "text" : "esModule"} = embed ${q(path.relative(BUILD_DIR, m.path))})`).join(", ");
  const bindings = Object.entries(target.bindings)
    .map(([name, v]) => {
      if (v.text !== undefined) return `(name = ${q(name)}, text = ${q(v.text)})`;
      if (v.kv !== undefined) return `(name = ${q(name)}, kvNamespace = ${q(v.kv)})`;
      return `(name = ${q(name)}, durableObjectNamespace = ${q(v.durableObject)})`;
    })
    .join(", ");
  const dos = target.durableObjects ?? [];
  const extra =
    dos.length > 0
      ? `,
      durableObjectNamespaces = [${dos.map((c) => `(className = ${q(c)}, uniqueKey = ${q(`cold-${c}`)}, enableSql = true)`).join(", ")}],
      durableObjectStorage = (localDisk = "do-storage")`
      : "";
  return `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "kv", worker = (compatibilityDate = "2026-11-01", modules = [(name = "kv.js", esModule = embed "kv.js")])),
    (name = "origin", external = (address = ${q(`127.0.0.1:${originPort}`)}, http = ())),
    (name = "do-storage", disk = (path = ${q(storageDir)}, writable = true)),
    (name = "target", worker = (
      compatibilityDate = "2026-11-01",
      modules = [${modules}],
      bindings = [${bindings}],
      globalOutbound = "origin"${extra}
    )),
  ],
  sockets = [
    (name = "target", address = "127.0.0.1:0", http = (), service = "target"),
    (name = "kv", address = "127.0.0.1:0", http = (), service = "kv"),
  ],
);
`;
}

/** Starts workerd on `configFile`; resolves with the ports once every socket listens, and the ms that took. */
function start(configFile, logFile) {
  const t0 = performance.now();
  const child = spawn("sh", ["-c", `exec "$0" serve --control-fd=3 "$1" 2>>"$2"`, WORKERD, configFile, logFile], {
    cwd: BUILD_DIR,
    stdio: ["ignore", "ignore", "inherit", "pipe"],
  });
  const ports = {};
  let buffer = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`cold start: workerd did not listen within 30 s; see ${logFile}`)), 30_000);
    child.once("exit", (code) => reject(new Error(`cold start: workerd exited with ${code}; see ${logFile}`)));
    /** @type {import("node:stream").Readable} */ (child.stdio[3]).on("data", (chunk) => {
      buffer += chunk;
      for (let nl = buffer.indexOf("\n"); nl >= 0; nl = buffer.indexOf("\n")) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        try {
          const message = JSON.parse(line);
          if (message.event === "listen") ports[message.socket] = message.port;
        } catch {}
      }
      if (ports.target !== undefined && ports.kv !== undefined) {
        clearTimeout(timer);
        child.removeAllListeners("exit");
        resolve({ child, ports, listenMs: performance.now() - t0, listenCpuMs: cpuTimeMs(child.pid) });
      }
    });
  });
}

async function timed(url, init) {
  const t0 = performance.now();
  const response = await fetch(url, init);
  await response.arrayBuffer();
  return { ms: performance.now() - t0, status: response.status };
}

/**
 * One cold start per sample and target, alternating targets: spawn -> every
 * socket listening (workerd has compiled each Worker's modules and run their
 * top-level code by then), then the first request (the app is built, the key
 * read from KV, its guard created), then a second one (warm) for comparison.
 */
export async function coldStarts({ targets, samples, originPort, key, storageRoot, log }) {
  const results = Object.fromEntries(targets.map((t) => [t.id, []]));
  const logFile = path.join(BUILD_DIR, "workerd-cold.log");
  writeFileSync(logFile, "");
  for (let i = 0; i < samples; i++) {
    for (const target of targets) {
      const storageDir = path.join(storageRoot, `cold-${target.id}-${i}`);
      mkdirSync(storageDir, { recursive: true });
      const configFile = path.join(BUILD_DIR, `cold-${target.id}.capnp`);
      writeFileSync(configFile, config({ target, storageDir, originPort }));
      const { child, ports, listenMs, listenCpuMs } = await start(configFile, logFile);
      try {
        // The key's record goes into the KV stand-in through its own socket (not timed).
        const put = await fetch(`http://127.0.0.1:${ports.kv}/${encodeURIComponent(`key:${key.hash}`)}?urlencoded=true`, {
          method: "PUT",
          body: JSON.stringify(key.record),
        });
        await put.arrayBuffer();
        const request = { headers: { authorization: `Bearer ${key.key}` } };
        const cpu0 = cpuTimeMs(child.pid);
        const first = await timed(`http://127.0.0.1:${ports.target}/v1/things`, request);
        const cpu1 = cpuTimeMs(child.pid);
        const second = await timed(`http://127.0.0.1:${ports.target}/v1/things`, request);
        const cpu2 = cpuTimeMs(child.pid);
        const sample = {
          listenMs,
          listenCpuMs,
          firstMs: first.ms,
          firstCpuMs: cpu1 - cpu0,
          secondMs: second.ms,
          secondCpuMs: cpu2 - cpu1,
          firstStatus: first.status,
          secondStatus: second.status,
        };
        results[target.id].push(sample);
        log?.(
          `  cold start ${target.id}: listening after ${listenMs.toFixed(0)} ms (CPU ${listenCpuMs.toFixed(0)} ms), first response ${first.ms.toFixed(1)} ms (CPU ${sample.firstCpuMs.toFixed(1)} ms, ${first.status}), second ${second.ms.toFixed(1)} ms`,
        );
      } finally {
        await new Promise((resolve) => {
          child.once("exit", resolve);
          child.kill("SIGTERM");
        });
        rmSync(storageDir, { recursive: true, force: true });
      }
    }
  }
  return results;
}
