// @ts-check
// `npm run deploy:check`: the committed development config is refused, naming the
// KV id and ORIGIN_URL; the documented production example passes and deploys (dry
// run, both environments); each single mistake in it is named.
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deployProblems, loadWrangler, main } from "../scripts/deploy-check.mjs";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const SCRIPT = join(ROOT, "scripts", "deploy-check.mjs");
const WRANGLER = join(ROOT, "node_modules", "wrangler", "bin", "wrangler.js");
const EXAMPLE = join(ROOT, "wrangler.production.toml");
const run = promisify(execFile);
const out = mkdtempSync(join(tmpdir(), "keyward-deploy-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));

/** Runs the check in process (as the script's entry does); resolves with its exit code and output. */
async function check(...args) {
  let output = "";
  const line = (text) => {
    output += `${text}\n`;
  };
  const code = await main(args, { out: line, err: line });
  return { code, output };
}

/** Runs the script as `npm run deploy:check` does; resolves with its exit code and output. */
async function checkScript(...args) {
  try {
    const { stdout, stderr } = await run(process.execPath, [SCRIPT, ...args], { cwd: ROOT });
    return { code: 0, output: stdout + stderr };
  } catch (caught) {
    const error = /** @type {{ code: number, stdout: unknown, stderr: unknown }} */ (caught);
    return { code: error.code, output: String(error.stdout) + String(error.stderr) };
  }
}

/** @type {Map<string, Promise<unknown>>} */
const dryRuns = new Map();
/**
 * `wrangler deploy --dry-run` of the production example, started once; its test awaits it.
 * @param {string[]} env
 */
function dryRun(env) {
  const name = env.join("-") || "top";
  let started = dryRuns.get(name);
  if (started === undefined) {
    started = run(process.execPath, [WRANGLER, "deploy", "--dry-run", "--config", EXAMPLE, ...env, "--outdir", join(out, name)], {
      cwd: ROOT,
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" },
    });
    // Its test reports a failure; until then it is not an unhandled rejection.
    started.catch(() => {});
    dryRuns.set(name, started);
  }
  return started;
}
// Two processes that mostly wait on esbuild and wrangler, for seconds: started with the
// file, side by side, so that they run while the other tests do instead of after them.
beforeAll(() => {
  dryRun([]);
  dryRun(["--env", "staging"]);
});

describe("npm run deploy:check", () => {
  it("refuses the committed development config, naming the KV id and ORIGIN_URL (the script, exit 1)", async () => {
    const { code, output } = await checkScript();
    expect(code).toBe(1);
    expect(output).toMatch(/kv_namespaces KEYS id: "0{32}" is the placeholder/);
    expect(output).toMatch(/vars ORIGIN_URL: "http:\/\/127\.0\.0\.1:8788" is plain http/);
    expect(output).toMatch(/vars ORIGIN_URL: "http:\/\/127\.0\.0\.1:8788" is a loopback or private address/);
  });

  it.each([[[]], [["--env", "staging"]]])("passes the documented production example %j", async (env) => {
    const { code, output } = await check("--config", EXAMPLE, ...env);
    expect(output).toMatch(/ready for production/);
    expect(code).toBe(0);
  });

  it("refuses an environment the config does not have", async () => {
    const { code, output } = await check("--config", EXAMPLE, "--env", "prod");
    expect(code).toBe(2);
    expect(output).toMatch(/there is no \[env\.prod\]/);
  });

  it.each([[[]], [["--env", "staging"]]])("the production example deploys (wrangler dry run) %j", async (env) => {
    await dryRun(env);
  });
});

describe("each mistake in a production config is named", () => {
  const good = loadWrangler().unstable_readConfig({ config: EXAMPLE }, { hideWarnings: true });
  const withVars = (vars, extra = {}) => ({ ...good, ...extra, vars: { ...good.vars, ...vars } });

  it("finds nothing wrong with the example", () => {
    expect(deployProblems(good)).toEqual([]);
  });

  it.each([
    ["a loopback origin over https", withVars({ ORIGIN_URL: "https://localhost:8443" }), "vars ORIGIN_URL", /loopback or private/],
    ["a private-network origin", withVars({ ORIGIN_URL: "https://10.0.0.5" }), "vars ORIGIN_URL", /loopback or private/],
    ["an IPv6 loopback origin", withVars({ ORIGIN_URL: "https://[::1]:8443" }), "vars ORIGIN_URL", /loopback or private/],
    ["a public origin over plain http", withVars({ ORIGIN_URL: "http://origin.example.com" }), "vars ORIGIN_URL", /plain http/],
    ["a test origin over plain http", withVars({ ORIGIN_URL_TEST: "http://sandbox.example.com" }), "vars ORIGIN_URL_TEST", /plain http/],
    ["no origin at all", withVars({ ORIGIN_URL: undefined }), "vars ORIGIN_URL", /is missing/],
    ["KEYWARD_ENV development", withVars({ KEYWARD_ENV: "development" }), "vars KEYWARD_ENV", /"development"/],
    ["the development token secret", withVars({ KEYWARD_DEV_JWT_SECRET: "ab".repeat(32) }), "vars KEYWARD_DEV_JWT_SECRET", /development token secret/],
    ["the operator token in [vars]", withVars({ KEYWARD_OPERATOR_TOKEN: "ab".repeat(32) }), "vars KEYWARD_OPERATOR_TOKEN", /secret in plain \[vars\]/],
    ["the signing key in [vars]", withVars({ KEYWARD_SIGNING_KEY: "{}" }), "vars KEYWARD_SIGNING_KEY", /wrangler secret put KEYWARD_SIGNING_KEY/],
    ["user tokens without an issuer", withVars({ USER_TOKEN_ISSUER: undefined }), "vars USER_TOKEN_ISSUER", /missing while user tokens are on/],
    ["user tokens without an audience", withVars({ USER_TOKEN_AUDIENCE: "" }), "vars USER_TOKEN_AUDIENCE", /missing while user tokens are on/],
    [
      "a public key without an issuer",
      withVars({ USER_JWKS_URL: undefined, USER_PUBLIC_KEY: "{}", USER_TOKEN_ISSUER: undefined }),
      "vars USER_TOKEN_ISSUER",
      /missing/,
    ],
    ["user keys over plain http", withVars({ USER_JWKS_URL: "http://auth.example.com/jwks" }), "vars USER_JWKS_URL", /not https/],
    ["the placeholder KV id", { ...good, kv_namespaces: [{ binding: "KEYS", id: "0".repeat(32) }] }, "kv_namespaces KEYS id", /placeholder/],
    ["no KEYS namespace", { ...good, kv_namespaces: [] }, "kv_namespaces KEYS", /is missing/],
  ])("%s", (_name, config, setting, problem) => {
    const found = deployProblems(config);
    expect(found.map((p) => p.setting)).toEqual(expect.arrayContaining([setting]));
    expect(found.find((p) => p.setting === setting)?.problem).toMatch(problem);
    // Only that setting is named: each mistake gets its own line.
    expect(new Set(found.map((p) => p.setting))).toEqual(new Set([setting]));
  });

  it("takes an ORIGIN service binding without a public ORIGIN_URL", () => {
    const service = withVars({ ORIGIN_URL: undefined }, { services: [{ binding: "ORIGIN", service: "my-api" }] });
    expect(deployProblems(service)).toEqual([]);
  });

  it("leaves issuer and audience alone when user tokens are off (operator token only)", () => {
    expect(deployProblems(withVars({ USER_JWKS_URL: undefined, USER_TOKEN_ISSUER: undefined, USER_TOKEN_AUDIENCE: undefined }))).toEqual([]);
  });
});
