// @ts-check
// Keyward under a real `wrangler dev` (workerd, local KV and Durable Objects), on
// 127.0.0.1, with its own config directory (so no .dev.vars of the checkout is
// read) and its own persistence directory, both temporary.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
// Wrangler's CLI itself, not its bin/wrangler.js: that is a Node process of its own that
// only checks the Node version and starts this one with --no-warnings, as launchKeywardDev does.
const WRANGLER_CLI = join(ROOT, "node_modules", "wrangler", "wrangler-dist", "cli.js");

/** A port that was free a moment ago on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = /** @type {import("node:net").AddressInfo} */ (server.address());
      server.close(() => resolve(port));
    });
  });
}

/**
 * `toml` without its [build] table (up to the next table).
 * @param {string} toml
 */
function withoutBuildStep(toml) {
  return toml.replace(/^\[build\]\n(?:(?!\[).*\n)*/m, "");
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * `vars`: the dev server's variables. `build: false` leaves out wrangler.toml's [build] step
 * (bundling the console's browser program, a Node process and an esbuild of their own) where the
 * caller's process has just built it: under vitest, whose config does (vitest.config.ts).
 * @typedef {{ vars: Record<string, string>, readyTimeoutMs?: number, build?: boolean }} LaunchOptions
 */

/**
 * Starts `wrangler dev` and resolves once /_keyward/health answers.
 * @param {LaunchOptions} options
 */
export async function startKeywardDev(options) {
  const dev = await launchKeywardDev(options);
  await dev.ready;
  return dev;
}

/**
 * Starts `wrangler dev` without waiting for it: its URL is known at once, and
 * `ready` resolves once /_keyward/health answers (or rejects, with wrangler's
 * output, if it exits or times out first; it is then stopped). Lets a caller
 * boot it while it does other work.
 * @param {LaunchOptions} options
 */
export async function launchKeywardDev({ vars, readyTimeoutMs = 90_000, build = true }) {
  const dir = mkdtempSync(join(tmpdir(), "keyward-e2e-"));
  // The checkout's wrangler.toml with an absolute entry point, in a directory of its own.
  let toml = readFileSync(join(ROOT, "wrangler.toml"), "utf8")
    .replace(/^main\s*=\s*"([^"]+)"/m, (_m, main) => `main = ${JSON.stringify(join(ROOT, main))}`)
    // The [build] step (bundling the console) runs in the checkout, not in the temporary directory.
    .replace(/^cwd\s*=\s*"\."/m, `cwd = ${JSON.stringify(ROOT)}`)
    .replace(/^watch_dir\s*=\s*"([^"]+)"/m, (_m, dir) => `watch_dir = ${JSON.stringify(join(ROOT, dir))}`);
  if (!build) toml = withoutBuildStep(toml);
  const config = join(dir, "wrangler.toml");
  writeFileSync(config, toml);

  const port = await freePort();
  const inspectorPort = await freePort();
  const args = [
    "--no-warnings",
    WRANGLER_CLI,
    "dev",
    "--config",
    config,
    "--ip",
    "127.0.0.1",
    "--port",
    String(port),
    "--inspector-port",
    String(inspectorPort),
    "--persist-to",
    join(dir, "state"),
    "--show-interactive-dev-session=false",
    "--log-level",
    "log",
    ...Object.entries(vars).flatMap(([name, value]) => ["--var", `${name}:${value}`]),
  ];
  const child = spawn(process.execPath, args, {
    cwd: dir,
    // Its own process group, so stopping it also stops workerd, and nothing else.
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...process.env,
      CLOUDFLARE_CF_FETCH_ENABLED: "false",
      WRANGLER_SEND_METRICS: "false",
      CLOUDFLARE_LOAD_DEV_VARS_FROM_DOT_ENV: "false",
      WRANGLER_LOG_PATH: join(dir, "logs"),
      NO_COLOR: "1",
      CI: "1",
    },
  });
  let output = "";
  child.stdout.setEncoding("utf8").on("data", (d) => {
    output += d;
  });
  child.stderr.setEncoding("utf8").on("data", (d) => {
    output += d;
  });
  /** @type {{ code: number | null, signal: NodeJS.Signals | null } | null} */
  let exited = null;
  child.on("exit", (code, signal) => {
    exited = { code, signal };
  });

  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (exited === null) {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, "SIGTERM");
      } catch {}
      for (let i = 0; i < 50 && exited === null; i++) await sleep(100);
      if (exited === null) {
        try {
          if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
        } catch {}
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };

  const ready = (async () => {
    const deadline = Date.now() + readyTimeoutMs;
    for (;;) {
      if (exited !== null) {
        await stop();
        throw new Error(`wrangler dev exited (${JSON.stringify(exited)}) before it was ready:\n${output}`);
      }
      try {
        const res = await fetch(`${url}/_keyward/health`);
        if (res.status === 200) return;
      } catch {}
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`wrangler dev was not ready within ${readyTimeoutMs} ms:\n${output}`);
      }
      await sleep(250);
    }
  })();
  // Handled where it is awaited; this only keeps an unawaited failure from being an unhandled rejection.
  ready.catch(() => {});
  return {
    url,
    pid: child.pid,
    get output() {
      return output;
    },
    ready,
    stop,
  };
}
