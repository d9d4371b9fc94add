// @ts-check
// `npm run dev`: the demo origin and Keyward (wrangler dev), offline, on 127.0.0.1.
// Ports: --port / PORT for Keyward (default 8787), --origin-port / ORIGIN_PORT for
// the demo origin (default 8788), so it can run beside another service:
//   PORT=9787 ORIGIN_PORT=9788 npm run dev      or      npm run dev -- --port 9787 --origin-port 9788
// --origin URL puts Keyward in front of your own API instead of the demo origin:
//   npm run dev -- --origin http://localhost:3000
// Any other arguments go to `wrangler dev`.
import { spawn } from "node:child_process";
import { startEchoOrigin } from "../demo/echo-origin.mjs";
import { ensureDevVars } from "./dev-vars.mjs";

/**
 * Takes `--name N` / `--name=N` out of `args` (mutating it) and returns N.
 * @param {string[]} args
 * @param {string} name
 */
function takeFlag(args, name) {
  for (let i = 0; i < args.length; i++) {
    const arg = /** @type {string} */ (args[i]);
    if (arg === `--${name}`) return args.splice(i, 2)[1];
    if (arg.startsWith(`--${name}=`)) return /** @type {string} */ (args.splice(i, 1)[0]).slice(name.length + 3);
  }
  return undefined;
}

/**
 * @param {string | undefined} raw
 * @param {number} fallback
 * @param {string} what
 */
function port(raw, fallback, what) {
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < 1 || n > 65535) {
    console.error(`npm run dev: ${what} must be a port number (1-65535), got ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  return n;
}

/**
 * The --origin URL, as Keyward will forward to it; exits with a clear message otherwise.
 * @param {string} raw
 */
function ownOrigin(raw) {
  /** @type {URL | null} */
  let url = null;
  try {
    url = new URL(raw);
  } catch {}
  if (url === null || (url.protocol !== "http:" && url.protocol !== "https:")) {
    console.error(`npm run dev: --origin must be the http(s) URL of your API, e.g. http://localhost:3000, got ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  return url.toString().replace(/\/$/, "");
}

const args = process.argv.slice(2);
const keywardPort = port(takeFlag(args, "port") ?? process.env.PORT, 8787, "--port / PORT");
const originFlag = takeFlag(args, "origin");
const originPort = port(takeFlag(args, "origin-port") ?? process.env.ORIGIN_PORT, 8788, "--origin-port / ORIGIN_PORT");
if (originFlag === undefined && keywardPort === originPort) {
  console.error(`npm run dev: Keyward and the demo origin cannot share port ${keywardPort}`);
  process.exit(2);
}

const ownUrl = originFlag === undefined ? null : ownOrigin(originFlag);

ensureDevVars();
// Your own API (--origin), or the demo origin that echoes what it receives.
const origin = ownUrl === null ? await startEchoOrigin({ port: originPort }) : null;
const originUrl = ownUrl ?? `http://127.0.0.1:${originPort}`;
const base = `http://localhost:${keywardPort}`;
console.log(`${origin ? "demo origin" : "your origin"} on ${originUrl}`);

const wrangler = spawn("wrangler", ["dev", "--ip", "127.0.0.1", "--port", String(keywardPort), "--var", `ORIGIN_URL:${originUrl}`, ...args], {
  stdio: ["inherit", "pipe", "inherit"],
  env: { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false" },
});

// Wrangler's own output passes through; once it is ready, say where everything is.
let announced = false;
wrangler.stdout.on("data", (chunk) => {
  process.stdout.write(chunk);
  if (!announced && String(chunk).includes("Ready on")) {
    announced = true;
    const cli = keywardPort === 8787 ? "" : `\n  CLI         export KEYWARD_URL=${base}   (the keyward CLI defaults to :8787)`;
    console.log(
      `\nKeyward is ready:\n  gateway     ${base}\n  console     ${base}/_keyward/console\n  admin API   ${base}/_keyward/v1/openapi.json\n  ${origin ? "demo origin" : "origin     "} ${originUrl}${cli}\n`,
    );
  }
});

const stop = () => {
  wrangler.kill("SIGINT");
  origin?.close();
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
wrangler.on("exit", (code) => {
  origin?.close();
  process.exit(code ?? 0);
});
