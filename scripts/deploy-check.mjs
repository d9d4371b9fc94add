// @ts-check
// `npm run deploy:check [-- --config FILE] [--env NAME]`: refuses a wrangler
// configuration that would deploy and run but is wrong for production, naming each
// setting at fault. Keyward itself validates its variables when it starts (a bad
// value answers 503); this catches what is valid but wrong: the placeholder KV id,
// an origin on loopback or over plain http, development-only variables, user
// tokens without an issuer or audience. The config is read as wrangler reads it,
// [env.NAME] inheritance included.
import { createRequire } from "node:module";
import { parseArgs } from "node:util";

/** Hostnames and addresses Cloudflare's network cannot reach as an origin: loopback, private, link-local. */
const UNREACHABLE_HOST =
  /^(localhost|.*\.localhost|.*\.local|.*\.internal|127\.\d+\.\d+\.\d+|0\.0\.0\.0|10\.\d+\.\d+\.\d+|192\.168\.\d+\.\d+|172\.(1[6-9]|2\d|3[01])\.\d+\.\d+|169\.254\.\d+\.\d+|\[::1?\]|\[f[cd][0-9a-f]*:.*\]|\[fe80:.*\])$/i;

/** Variables that exist for `npm run dev` only. */
const DEVELOPMENT_ONLY = {
  KEYWARD_DEV_JWT_SECRET: "is the development token secret: remove it (configure USER_JWKS_URL or USER_PUBLIC_KEY for real tokens)",
  KEYWARD_DEV_REPORT_DELAY_MS: "is a test setting (a shorter usage report delay): remove it",
  KEYWARD_DEV_QUIET_REPORT_PERIOD_MS: "is a bench setting (a shorter usage report period for quiet keys): remove it",
};
/** Secrets that must never be plain [vars] (readable in the dashboard, in wrangler.toml, in git). */
const SECRETS = ["KEYWARD_SIGNING_KEY", "KEYWARD_OPERATOR_TOKEN"];

/**
 * Wrangler's API, loaded with require: it is one CommonJS file of some 15 MB, which
 * an `import` also scans for ES module syntax and for its export names first, about
 * 0.5 s more CPU in each process that loads it (this script, and the deploy-check
 * test, which runs it in process and as `npm run deploy:check` does).
 * @returns {typeof import("wrangler")}
 */
export function loadWrangler() {
  return createRequire(import.meta.url)("wrangler");
}

/**
 * What is wrong with one resolved wrangler configuration for production.
 * @param {{ vars?: Record<string, unknown>, kv_namespaces?: { binding: string, id?: string }[], services?: { binding: string }[] }} config
 * @returns {{ setting: string, problem: string }[]}
 */
export function deployProblems(config) {
  const problems = [];
  const add = (setting, problem) => problems.push({ setting, problem });
  const vars = config.vars ?? {};
  const text = (name) => (typeof vars[name] === "string" && vars[name] !== "" ? /** @type {string} */ (vars[name]) : null);

  const keys = (config.kv_namespaces ?? []).find((ns) => ns.binding === "KEYS");
  if (!keys) add("kv_namespaces KEYS", "is missing: bind the key index (npx wrangler kv namespace create KEYS, then its id here)");
  else if (!keys.id || /^0+$/.test(keys.id) || !/^[0-9a-f]{32}$/.test(keys.id)) {
    add(
      "kv_namespaces KEYS id",
      `${JSON.stringify(keys.id ?? "")} is the placeholder, not a namespace: run npx wrangler kv namespace create KEYS and put the id it prints here`,
    );
  }

  if (text("KEYWARD_ENV") === "development") {
    add("vars KEYWARD_ENV", 'is "development", which accepts development secrets: set "production" (or remove it)');
  }
  for (const [name, problem] of Object.entries(DEVELOPMENT_ONLY)) if (name in vars) add(`vars ${name}`, problem);
  for (const name of SECRETS) {
    if (name in vars) add(`vars ${name}`, `is a secret in plain [vars]: remove it and run npx wrangler secret put ${name} (npx keyward init prints the line)`);
  }

  const service = (config.services ?? []).some((s) => s.binding === "ORIGIN");
  // With an ORIGIN service binding, ORIGIN_URL only names what the origin Worker sees.
  const origins = service ? ["ORIGIN_URL_TEST"] : ["ORIGIN_URL", "ORIGIN_URL_TEST"];
  if (!service && text("ORIGIN_URL") === null)
    add("vars ORIGIN_URL", "is missing: the https URL of the API Keyward protects (or bind the origin Worker as ORIGIN)");
  for (const name of origins) {
    const raw = text(name);
    if (raw !== null) for (const problem of originProblems(raw)) add(`vars ${name}`, problem);
  }

  const userTokens = text("USER_JWKS_URL") !== null || text("USER_PUBLIC_KEY") !== null;
  if (userTokens) {
    // Without them, a token your identity provider issued for any other application
    // (same keys, another audience) would be accepted as an admin or user token here.
    if (text("USER_TOKEN_ISSUER") === null)
      add("vars USER_TOKEN_ISSUER", "is missing while user tokens are on: set your identity provider's issuer (the iss of its tokens)");
    if (text("USER_TOKEN_AUDIENCE") === null)
      add("vars USER_TOKEN_AUDIENCE", "is missing while user tokens are on: set the audience (aud) your identity provider puts in tokens for this API");
  }
  const jwks = text("USER_JWKS_URL");
  if (jwks !== null && !jwks.startsWith("https://"))
    add("vars USER_JWKS_URL", `${JSON.stringify(jwks)} is not https: the keys that sign admin tokens must come over TLS`);
  return problems;
}

/** @param {string} raw */
function originProblems(raw) {
  let url;
  try {
    url = new URL(raw);
  } catch {
    return [`${JSON.stringify(raw)} is not an absolute URL`];
  }
  const problems = [];
  if (url.protocol !== "https:")
    problems.push(`${JSON.stringify(raw)} is plain http: requests, identity headers and context tokens would cross the network unencrypted; use https`);
  if (UNREACHABLE_HOST.test(url.hostname))
    problems.push(`${JSON.stringify(raw)} is a loopback or private address, which Cloudflare cannot reach: use the origin's public hostname`);
  return problems;
}

/**
 * The command: checks one configuration (and environment) and says what is wrong;
 * resolves with the exit code (0 ready, 1 problems, 2 no such environment).
 * @param {string[]} args
 * @param {{ out: (line: string) => void, err: (line: string) => void }} io
 */
export async function main(args, io) {
  const { values } = parseArgs({ args, options: { config: { type: "string", default: "wrangler.toml" }, env: { type: "string" } } });
  const where = `${values.config}${values.env ? ` [env.${values.env}]` : ""}`;
  const { experimental_readRawConfig, unstable_readConfig } = loadWrangler();
  if (values.env !== undefined) {
    const { rawConfig } = experimental_readRawConfig({ config: values.config });
    if (!rawConfig.env || !(values.env in rawConfig.env)) {
      io.err(`deploy:check ${where}: there is no [env.${values.env}] in ${values.config}`);
      return 2;
    }
  }
  const config = unstable_readConfig({ config: values.config, ...(values.env ? { env: values.env } : {}) }, { hideWarnings: true });
  const problems = deployProblems(config);
  if (problems.length === 0) {
    io.out(`deploy:check ${where}: ready for production (KV id, origin, variables, user tokens)`);
    return 0;
  }
  io.err(`deploy:check ${where}: ${problems.length} setting(s) would deploy but are wrong for production:`);
  for (const { setting, problem } of problems) io.err(`  ${setting}: ${problem}`);
  return 1;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exitCode = await main(process.argv.slice(2), { out: (line) => console.log(line), err: (line) => console.error(line) });
}
