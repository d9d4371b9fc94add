// @ts-check
// What the CLI tests share: the runner (in process through `main`, as bin/keyward.js
// calls it; or as a real process, for the few tests of bin/ itself) with a clean
// environment, and a fake admin API on 127.0.0.1 that records what it is sent.
import { spawn } from "node:child_process";
import { createServer } from "node:http";
import { fileURLToPath } from "node:url";
import { main } from "../../cli/main.js";

export const BIN = fileURLToPath(new URL("../../bin/keyward.js", import.meta.url));

/** The process environment without any Keyward settings of the machine running the tests. */
export function cleanEnv(extra = {}) {
  const env = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!/^(KEYWARD_|USER_TOKEN_|CLAIM_)/.test(name)) env[name] = value;
  }
  return { ...env, NO_COLOR: "1", ...extra };
}

/**
 * Runs `keyward ...args` in this process, through the `main(argv, io)` that bin/keyward.js
 * calls, with the environment a spawned process would get; resolves with exit code and output.
 * @param {string[]} args
 * @param {{ cwd: string, env?: Record<string, string> }} options
 */
export async function runKeyward(args, { cwd, env = {} }) {
  let stdout = "";
  let stderr = "";
  const code = await main(args, {
    out: (text) => {
      stdout += text;
    },
    err: (text) => {
      stderr += text;
    },
    env: cleanEnv(env),
    cwd,
  });
  return { code, stdout, stderr };
}

/**
 * Runs bin/keyward.js as a real process; resolves with exit code and output.
 * @param {string[]} args
 * @param {{ cwd?: string, env?: Record<string, string> }} [options]
 * @returns {Promise<{ code: number | null, stdout: string, stderr: string }>}
 */
export function spawnKeyward(args, { cwd, env = {} } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, env: cleanEnv(env), stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d) => {
      stdout += d;
    });
    child.stderr.setEncoding("utf8").on("data", (d) => {
      stderr += d;
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * @typedef {{ method: string, path: string, query: Record<string, string>, headers: import("node:http").IncomingHttpHeaders, body: string }} FakeRequest
 * @typedef {{ status: number, body: unknown }} FakeRoute
 */

/**
 * Starts a fake admin API. `answer` sees each request (to record it) and gives its
 * route: `{ status, body }` (a string body is sent as it is), a function of the
 * query (pages of a listing), or undefined for a 404 in the error contract's shape.
 * @param {(request: FakeRequest) => FakeRoute | ((query: URLSearchParams) => FakeRoute | undefined) | undefined} answer
 * @returns {Promise<{ baseUrl: string, close: () => Promise<void> }>}
 */
export async function fakeAdminApi(answer) {
  const server = createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (d) => {
      body += d;
    });
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://x");
      const path = url.pathname;
      const found = answer({ method: req.method ?? "", path, query: Object.fromEntries(url.searchParams), headers: req.headers, body });
      const route = (typeof found === "function" ? found(url.searchParams) : found) ?? {
        status: 404,
        body: { code: "NOT_FOUND", message: `no fake route for ${req.method} ${path}`, requestId: "req_fake" },
      };
      res.writeHead(route.status, { "content-type": "application/json" });
      res.end(typeof route.body === "string" ? route.body : JSON.stringify(route.body));
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(undefined)));
  const address = /** @type {import("node:net").AddressInfo} */ (server.address());
  return { baseUrl: `http://127.0.0.1:${address.port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
