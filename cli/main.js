// The `keyward` command line: argument parsing, usage texts and the commands.
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { CliError, EXIT_USAGE, usageError } from "./errors.js";
import { auditTable, formatTime, keyTable, keyView } from "./format.js";
import { apiUrl, DEFAULT_URL, displayUrl, isLoopback, parseBaseUrl, printable, request } from "./http.js";
import { readDevVars, setting } from "./settings.js";
import { mintDevToken, ROLES } from "./token.js";
import { anomalyTable, usageTable } from "./usage-format.js";

/**
 * @typedef {object} Io
 * @property {(text: string) => void} out  stdout
 * @property {(text: string) => void} err  stderr
 * @property {Record<string, string | undefined>} env
 * @property {string} cwd
 */

/**
 * @typedef {object} Context
 * @property {Record<string, string | boolean | undefined>} values  parsed options
 * @property {Io} io
 * @property {import("./settings.js").Settings} settings
 * @property {string} usage  this command's usage text
 */

const GLOBAL_HELP = `Global options:
  --url URL        Keyward base URL (env KEYWARD_URL, default ${DEFAULT_URL})
  --token TOKEN    Bearer token for admin calls (env KEYWARD_TOKEN; prefer the env var,
                   command-line arguments are visible to other local users)
  --json           Print the raw JSON response instead of tables (for scripts)
  -h, --help       Show this help`;

/** The help line of a command that talks to no server (global options do nothing there). */
const LOCAL_HELP = `Other options:
  -h, --help       Show this help`;

/** The package's version, for `keyward --version`. */
function version() {
  const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
  return typeof pkg.version === "string" ? pkg.version : "unknown";
}

const MAIN_USAGE = `keyward: manage Keyward API keys

Usage: keyward <command> [options]

Commands:
  token          Mint a local development user token (HS256, from .dev.vars)
  keys create    Create an API key (the key is shown once)
  keys list      List an org's keys
  keys get       Show one key
  keys revoke    Revoke a key now, or schedule its revocation
  keys revoke-all  Org kill switch: revoke every (matching) key of an org now
  keys credits   Set, increment or decrement a key's credits
  keys disable   Suspend a key (403 KEY_DISABLED until enabled)
  keys enable    Resume a suspended key
  keys meta      Replace a key's metadata (sent to the origin)
  limit set      Set a key's rate limit (operator token)
  org limit set    Set an org's shared rate limit (operator token)
  org limit clear  Remove an org's shared rate limit (operator token)
  audit          Show an org's audit trail
  usage          Show an org's or a key's usage (table and sparkline)
  anomalies      List unusual patterns flagged on an org's keys
  anomalies ack  Acknowledge an anomaly

${GLOBAL_HELP}
  --version        Print the version of keyward

Settings come from environment variables, then from .dev.vars in the current directory.
Run \`keyward <command> --help\` for a command's options.
The same in a browser: the console at <url>/_keyward/console (sign in with \`keyward token\`'s output).
Exit status: 0 ok, 1 request failed (server error or unreachable), 2 usage or local setup error.`;

const GLOBAL_OPTIONS = /** @type {const} */ ({
  url: { type: "string" },
  token: { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
});

/** @typedef {{ type: "string" | "boolean", short?: string }} OptionSpec */

/**
 * @typedef {object} Command
 * @property {string} usage
 * @property {Record<string, OptionSpec>} options  command-specific options
 * @property {string[]} required
 * @property {boolean} [local]  talks to no server: the global --url/--token/--json do not apply
 * @property {(ctx: Context) => Promise<void>} run
 */

/** @type {Record<string, Command>} */
const COMMANDS = {
  token: {
    usage: `Usage: keyward token --org ORG --role ROLE [--sub USER] [--ttl SECONDS]
                     [--permissions "a b"] [--customer-ids "c1 c2"]

Mints a development user token (HS256) signed with KEYWARD_DEV_JWT_SECRET from
.dev.vars in the current directory (or the environment) and prints only the token:

  export KEYWARD_TOKEN=$(npx keyward token --org acme --role org:admin)

Refuses unless KEYWARD_ENV is "development". Adds iss/aud when USER_TOKEN_ISSUER /
USER_TOKEN_AUDIENCE are set, and uses CLAIM_* claim names when configured.

Options:
  --org ORG              Organization id (claim org_id), required
  --role ROLE            ${ROLES.join(" or ")} (claim org_role), required
  --sub USER             User id (claim sub), default "dev-user"
  --ttl SECONDS          Lifetime in seconds, default 3600
  --permissions "a b"    Permissions (claim permissions, a list)
  --customer-ids "c1 c2" Resource ids (claim customer_ids, a list)`,
    options: {
      org: { type: "string" },
      role: { type: "string" },
      sub: { type: "string" },
      ttl: { type: "string" },
      permissions: { type: "string" },
      "customer-ids": { type: "string" },
    },
    required: ["org", "role"],
    local: true,
    run: runToken,
  },
  "keys create": {
    usage: `Usage: keyward keys create --org ORG --label LABEL [--env live|test] [--scopes "a b"]
                           [--expires-at ISO] [--allowed-ips "cidr cidr"]
                           [--credits N] [--refill daily:AMOUNT|monthly:AMOUNT:DAY] [--meta JSON]

Creates an API key and prints it once; Keyward keeps only its hash. With --quiet,
prints only the key, for scripts:

  export KEY=$(npx keyward keys create --org acme --label ci --quiet)

Options:
  --org ORG            Organization id                           required
  --label LABEL        A name for the key                        required
  --env live|test      Key environment (server default: live)
  --scopes "a b"       Scopes the key is limited to (default: all)
  --expires-at ISO     Expiry time, e.g. 2027-01-01T00:00:00Z
  --allowed-ips "a b"  Addresses or CIDRs the key may be used from (IPv4, IPv6;
                       default: any). Fixed for the key's life.
  --credits N          Starting balance of credits (default: unlimited)
  --refill SPEC        daily:AMOUNT or monthly:AMOUNT:DAY (UTC; DAY 1-31, past a
                       month's end means its last day); needs --credits
  --meta JSON          A JSON object (at most 1 KiB) sent to the origin with every
                       request. Never put secrets in it.
  -q, --quiet          Print only the key (the warning still goes to stderr)`,
    options: {
      org: { type: "string" },
      label: { type: "string" },
      env: { type: "string" },
      scopes: { type: "string" },
      "expires-at": { type: "string" },
      "allowed-ips": { type: "string" },
      credits: { type: "string" },
      refill: { type: "string" },
      meta: { type: "string" },
      quiet: { type: "boolean", short: "q" },
    },
    required: ["org", "label"],
    run: runKeysCreate,
  },
  "keys list": {
    usage: `Usage: keyward keys list --org ORG [--status S] [--env live|test] [--sort created|lastUsed]
                         [--limit N] [--quiet]

Lists the org's keys, newest first (never the secret keys themselves), following
the listing's pages until the end (or --limit keys).

Options:
  --org ORG            Organization id                           required
  --status S           active, revoked, expired or disabled
  --env live|test      Only keys of this environment
  --sort S             created (newest first, default) or lastUsed (most recent first)
  --limit N            At most N keys (default: all)
  -q, --quiet          Print only the key ids, one a line, newest first:
                         export KEY_ID=$(npx keyward keys list --org acme --quiet | head -n 1)`,
    options: {
      org: { type: "string" },
      status: { type: "string" },
      env: { type: "string" },
      sort: { type: "string" },
      limit: { type: "string" },
      quiet: { type: "boolean", short: "q" },
    },
    required: ["org"],
    run: runKeysList,
  },
  "keys get": {
    usage: `Usage: keyward keys get --org ORG --id KEY_ID

Options:
  --org ORG            Organization id                           required
  --id KEY_ID          Key id (not the key)                      required`,
    options: { org: { type: "string" }, id: { type: "string" } },
    required: ["org", "id"],
    run: runKeysGet,
  },
  "keys revoke": {
    usage: `Usage: keyward keys revoke --org ORG --id KEY_ID [--at ISO]

Revokes the key now, or schedules its revocation at --at (for rotation grace periods).

Options:
  --org ORG            Organization id                           required
  --id KEY_ID          Key id (not the key)                      required
  --at ISO             When to revoke, e.g. 2027-01-01T00:00:00Z (default: now)`,
    options: { org: { type: "string" }, id: { type: "string" }, at: { type: "string" } },
    required: ["org", "id"],
    run: runKeysRevoke,
  },
  "keys revoke-all": {
    usage: `Usage: keyward keys revoke-all --org ORG --confirm ORG [--env live|test]
                               [--created-before ISO] [--label-prefix TEXT]

The org kill switch: revokes every key of the org now (or only those matching the
filters). --confirm must repeat the org id. If Keyward answers that it stopped
part-way (exit 1), every key it reached is already refused: run the same command
again to complete it.

Options:
  --org ORG              Organization id                         required
  --confirm ORG          The org id again                        required
  --env live|test        Only keys of this environment
  --created-before ISO   Only keys created before this time
  --label-prefix TEXT    Only keys whose label starts with TEXT`,
    options: {
      org: { type: "string" },
      confirm: { type: "string" },
      env: { type: "string" },
      "created-before": { type: "string" },
      "label-prefix": { type: "string" },
    },
    required: ["org", "confirm"],
    run: runKeysRevokeAll,
  },
  "limit set": {
    usage: `Usage: keyward limit set --org ORG --id KEY_ID --limit N --window SECONDS

Sets a key's rate limit: N requests per sliding window of SECONDS. Authenticates
with --token / KEYWARD_TOKEN when given, else the operator token KEYWARD_OPERATOR_TOKEN
(environment, or .dev.vars for a local Keyward).

Options:
  --org ORG            Organization id                           required
  --id KEY_ID          Key id                                    required
  --limit N            Requests per window (integer >= 0)        required
  --window SECONDS     Window length in seconds (integer >= 1)   required`,
    options: { org: { type: "string" }, id: { type: "string" }, limit: { type: "string" }, window: { type: "string" } },
    required: ["org", "id", "limit", "window"],
    run: runLimitSet,
  },
  "keys credits": {
    usage: `Usage: keyward keys credits --org ORG --id KEY_ID [--op set|increment|decrement] [--value N]

Changes a key's credits; the guard applies it in order with the key's traffic, in
force on the next request. --op set (default) without --value makes the key
unlimited and clears its refill. Uses --token / KEYWARD_TOKEN (an org admin),
else the operator token.

Options:
  --org ORG            Organization id                           required
  --id KEY_ID          Key id                                    required
  --op OP              set, increment or decrement (default set)
  --value N            Credits (integer >= 0); required for increment/decrement`,
    options: { org: { type: "string" }, id: { type: "string" }, op: { type: "string" }, value: { type: "string" } },
    required: ["org", "id"],
    run: runKeysCredits,
  },
  "keys disable": {
    usage: `Usage: keyward keys disable --org ORG --id KEY_ID

Suspends a key: 403 KEY_DISABLED from the next request, nothing consumed, until
\`keyward keys enable\`. Uses --token / KEYWARD_TOKEN (an org admin), else the operator token.

Options:
  --org ORG            Organization id                           required
  --id KEY_ID          Key id                                    required`,
    options: { org: { type: "string" }, id: { type: "string" } },
    required: ["org", "id"],
    run: (ctx) => runKeysSuspend(ctx, "disable"),
  },
  "keys enable": {
    usage: `Usage: keyward keys enable --org ORG --id KEY_ID

Resumes a suspended key, with its window and balance as they were.

Options:
  --org ORG            Organization id                           required
  --id KEY_ID          Key id                                    required`,
    options: { org: { type: "string" }, id: { type: "string" } },
    required: ["org", "id"],
    run: (ctx) => runKeysSuspend(ctx, "enable"),
  },
  "keys meta": {
    usage: `Usage: keyward keys meta --org ORG --id KEY_ID --meta JSON

Replaces a key's metadata (a JSON object of at most 1 KiB, or null to remove
it); the origin sees it from the next request. Never put secrets in it.

Options:
  --org ORG            Organization id                           required
  --id KEY_ID          Key id                                    required
  --meta JSON          e.g. '{"plan":"pro"}', or null            required`,
    options: { org: { type: "string" }, id: { type: "string" }, meta: { type: "string" } },
    required: ["org", "id", "meta"],
    run: runKeysMeta,
  },
  "org limit set": {
    usage: `Usage: keyward org limit set --org ORG --limit N --window SECONDS

Gives the org one sliding window shared by all its keys, on top of each key's
own limit (operator token: KEYWARD_OPERATOR_TOKEN, or .dev.vars locally).

Options:
  --org ORG            Organization id                           required
  --limit N            Requests per window (integer >= 0)        required
  --window SECONDS     Window length in seconds (integer >= 1)   required`,
    options: { org: { type: "string" }, limit: { type: "string" }, window: { type: "string" } },
    required: ["org", "limit", "window"],
    run: (ctx) => runOrgLimit(ctx, false),
  },
  "org limit clear": {
    usage: `Usage: keyward org limit clear --org ORG

Removes the org's shared rate limit (operator token).

Options:
  --org ORG            Organization id                           required`,
    options: { org: { type: "string" } },
    required: ["org"],
    run: (ctx) => runOrgLimit(ctx, true),
  },
  audit: {
    usage: `Usage: keyward audit --org ORG

Shows the org's audit trail (key creation, revocation, rate-limit changes).

Options:
  --org ORG            Organization id                           required`,
    options: { org: { type: "string" } },
    required: ["org"],
    run: runAudit,
  },
};

Object.assign(COMMANDS, {
  usage: {
    usage: `Usage: keyward usage --org ORG [--id KEY_ID] [--since 24h] [--granularity hour]

Shows usage as a table with a sparkline: the org's (totals and busiest keys), or
one key's with --id. A key's minute view is fresh; hour and day views are as the
keys' guards last reported (at most about a minute behind).

Options:
  --org ORG              Organization id                         required
  --id KEY_ID            One key (default: the whole org)
  --since DURATION       How far back: 90m, 24h, 7d (default 24h; 1h for minute)
  --granularity G        minute (with --id only), hour (default) or day`,
    options: { org: { type: "string" }, id: { type: "string" }, since: { type: "string" }, granularity: { type: "string" } },
    required: ["org"],
    run: runUsage,
  },
  anomalies: {
    usage: `Usage: keyward anomalies --org ORG [--all]

Lists the open anomaly flags of the org's keys (with --all, acknowledged ones too).

Options:
  --org ORG              Organization id                         required
  --all                  Include acknowledged flags`,
    options: { org: { type: "string" }, all: { type: "boolean" } },
    required: ["org"],
    run: runAnomalies,
  },
  "anomalies ack": {
    usage: `Usage: keyward anomalies ack --org ORG --id ANOMALY_ID

Acknowledges an anomaly (org admins; recorded in the audit trail).

Options:
  --org ORG              Organization id                         required
  --id ANOMALY_ID        Anomaly id (anm_…)                      required`,
    options: { org: { type: "string" }, id: { type: "string" } },
    required: ["org", "id"],
    run: runAnomaliesAck,
  },
});

const GROUPS = {
  keys: `Usage: keyward keys <create|list|get|revoke> [options]

  keys create    Create an API key (the key is shown once)
  keys list      List an org's keys
  keys get       Show one key
  keys revoke    Revoke a key now, or schedule its revocation

Run \`keyward keys <subcommand> --help\` for its options.

${GLOBAL_HELP}`,
  limit: `Usage: keyward limit set --org ORG --id KEY_ID --limit N --window SECONDS

Run \`keyward limit set --help\` for details.

${GLOBAL_HELP}`,
  org: `Usage: keyward org limit <set|clear> --org ORG [--limit N --window SECONDS]

Commands:
  org limit set    Set the org's shared rate limit (operator token)
  org limit clear  Remove it

${GLOBAL_HELP}`,
};

/** Global options that take a value, so their value is not a command word. */
const VALUE_GLOBALS = new Set(["--url", "--token"]);

/**
 * Splits argv into the command words (leading non-option words, global options
 * may come first) and the remaining arguments.
 * @param {string[]} argv
 */
function splitCommand(argv) {
  /** @type {string[]} */
  const words = [];
  /** @type {string[]} */
  const rest = [];
  let inWords = true;
  for (let i = 0; i < argv.length; i++) {
    const arg = /** @type {string} */ (argv[i]);
    if (!inWords) {
      rest.push(arg);
    } else if (arg.startsWith("-")) {
      if (VALUE_GLOBALS.has(arg)) {
        rest.push(arg);
        if (i + 1 < argv.length) rest.push(/** @type {string} */ (argv[++i]));
      } else if (arg === "--json" || arg === "--help" || arg === "-h" || arg === "--version" || arg.startsWith("--url=") || arg.startsWith("--token=")) {
        rest.push(arg);
      } else {
        inWords = false;
        rest.push(arg);
      }
    } else {
      words.push(arg);
    }
  }
  return { words, rest };
}

/**
 * A command's usage text with the global options that apply to it, and only those.
 * @param {string} name
 */
function usageOf(name) {
  const command = /** @type {Command} */ (COMMANDS[name]);
  return `${command.usage}\n\n${command.local ? LOCAL_HELP : GLOBAL_HELP}`;
}

/**
 * Runs the CLI and returns the exit code.
 * @param {string[]} argv  arguments after the program name
 * @param {Io} io
 * @returns {Promise<number>}
 */
export async function main(argv, io) {
  try {
    await dispatch(argv, io);
    return 0;
  } catch (error) {
    if (error instanceof CliError) {
      io.err(`${error.message}\n`);
      if (error.hint) io.err(`hint: ${error.hint}\n`);
      if (error.usage) io.err(`\n${error.usage}\n`);
      return error.exitCode;
    }
    io.err(`keyward: unexpected error: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}

/**
 * @param {string[]} argv
 * @param {Io} io
 */
async function dispatch(argv, io) {
  const { words, rest } = splitCommand(argv);
  const wantsHelp = rest.includes("--help") || rest.includes("-h");
  if (words[0] === "help") {
    words.shift();
    if (words.length === 0) {
      io.out(`${MAIN_USAGE}\n`);
      return;
    }
    rest.push("--help");
    return dispatch([...words, ...rest], io);
  }
  if (words.length === 0) {
    if (rest.includes("--version")) {
      io.out(`keyward ${version()}\n`);
      return;
    }
    if (wantsHelp) {
      io.out(`${MAIN_USAGE}\n`);
      return;
    }
    throw usageError(rest.length === 0 ? "keyward: no command given" : `keyward: unknown option ${rest[0]} (a command comes first)`, MAIN_USAGE);
  }

  let name = null;
  let used = 0;
  if (words.length >= 3 && words.slice(0, 3).join(" ") in COMMANDS) {
    name = words.slice(0, 3).join(" ");
    used = 3;
  } else if (words.length >= 2 && `${words[0]} ${words[1]}` in COMMANDS) {
    name = `${words[0]} ${words[1]}`;
    used = 2;
  } else if (/** @type {string} */ (words[0]) in COMMANDS) {
    name = /** @type {string} */ (words[0]);
    used = 1;
  }
  if (name === null) {
    const group = GROUPS[/** @type {keyof typeof GROUPS} */ (words[0])];
    if (group !== undefined) {
      if (words.length === 1 && wantsHelp) {
        io.out(`${group}\n`);
        return;
      }
      throw usageError(
        words.length === 1 ? `keyward: \`${words[0]}\` needs a subcommand` : `keyward: unknown command \`${words.slice(0, 2).join(" ")}\``,
        group,
      );
    }
    throw usageError(`keyward: unknown command \`${printable(words[0])}\``, MAIN_USAGE);
  }

  const command = /** @type {Command} */ (COMMANDS[name]);
  const usage = usageOf(name);
  if (wantsHelp) {
    io.out(`${usage}\n`);
    return;
  }
  if (words.length > used) throw usageError(`keyward ${name}: unexpected argument \`${printable(words[used])}\``, usage);

  /** @type {Record<string, string | boolean | undefined>} */
  let values;
  try {
    const globals = command.local ? { help: GLOBAL_OPTIONS.help } : GLOBAL_OPTIONS;
    ({ values } = parseArgs({ args: rest, options: { ...globals, ...command.options }, strict: true, allowPositionals: false }));
  } catch (error) {
    throw usageError(`keyward ${name}: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`, usage);
  }
  for (const flag of command.required) {
    const value = values[flag];
    if (value === undefined || (typeof value === "string" && value.trim() === "")) {
      throw usageError(`keyward ${name}: missing required option --${flag}`, usage);
    }
  }

  const settings = { env: io.env, devVars: readDevVars(io.cwd) };
  await command.run({ values, io, settings, usage });
}

// --- helpers -----------------------------------------------------------------

/**
 * @param {Context} ctx
 * @param {string} flag
 */
const str = (ctx, flag) => /** @type {string | undefined} */ (ctx.values[flag]);

/**
 * @param {Context} ctx
 * @param {string} flag
 */
const req = (ctx, flag) => /** @type {string} */ (ctx.values[flag]);

/**
 * A whitespace- or comma-separated list; undefined when the flag is absent.
 * @param {string | undefined} value
 */
function list(value) {
  if (value === undefined) return undefined;
  return value.split(/[\s,]+/).filter((v) => v !== "");
}

/**
 * @param {Context} ctx
 * @param {string} flag
 * @param {number} min
 */
function integer(ctx, flag, min) {
  const raw = req(ctx, flag).trim();
  const n = Number(raw);
  if (!/^-?\d+$/.test(raw) || !Number.isSafeInteger(n) || n < min) {
    throw usageError(`--${flag} must be an integer >= ${min}, got ${JSON.stringify(raw)}`, ctx.usage);
  }
  return n;
}

/**
 * A date-time flag, sent as a UTC ISO string.
 * @param {Context} ctx
 * @param {string} flag
 */
function isoTime(ctx, flag) {
  const raw = str(ctx, flag);
  if (raw === undefined) return undefined;
  const ms = Date.parse(raw);
  if (Number.isNaN(ms)) throw usageError(`--${flag} must be an ISO date-time such as 2027-01-01T00:00:00Z, got ${JSON.stringify(raw)}`, ctx.usage);
  return new Date(ms).toISOString();
}

/** @param {Context} ctx */
function baseUrl(ctx) {
  const raw = str(ctx, "url") ?? setting(ctx.settings, "KEYWARD_URL")?.value ?? DEFAULT_URL;
  const url = parseBaseUrl(raw);
  if (url === null) throw usageError(`--url / KEYWARD_URL must be an http(s) URL without credentials, got ${JSON.stringify(printable(raw))}`, ctx.usage);
  return url;
}

/**
 * The admin token: --token, else KEYWARD_TOKEN (environment only: it is not a .dev.vars setting).
 * @param {Context} ctx
 */
function userToken(ctx) {
  const token = str(ctx, "token") ?? ctx.io.env.KEYWARD_TOKEN;
  return token !== undefined && token !== "" ? token : null;
}

/**
 * The operator token: KEYWARD_OPERATOR_TOKEN (environment, or .dev.vars for a local Keyward only).
 * @param {Context} ctx
 */
function operatorToken(ctx) {
  const base = baseUrl(ctx);
  const operator = setting(ctx.settings, "KEYWARD_OPERATOR_TOKEN");
  if (operator === null) {
    throw new CliError("no operator token: set KEYWARD_OPERATOR_TOKEN (or pass --token)", {
      exitCode: EXIT_USAGE,
      hint: "for a local Keyward, run from the directory with its .dev.vars",
    });
  }
  if (operator.source === ".dev.vars" && !isLoopback(base)) {
    throw new CliError(`not sending the .dev.vars operator token to ${displayUrl(base)}, which is not local; set KEYWARD_OPERATOR_TOKEN for that deployment`, {
      exitCode: EXIT_USAGE,
    });
  }
  return operator.value;
}

/**
 * --token / KEYWARD_TOKEN when given (an org admin), else the operator token:
 * for the commands both may use.
 * @param {Context} ctx
 */
function operatorOrUserToken(ctx) {
  return userToken(ctx) ?? operatorToken(ctx);
}

/**
 * @param {Context} ctx
 * @param {URL} url
 */
function warnIfPlaintext(ctx, url) {
  if (url.protocol === "http:" && !isLoopback(url)) {
    ctx.io.err(`warning: sending a bearer token over plain http to ${displayUrl(url)}; use https outside local development\n`);
  }
}

/**
 * @param {Context} ctx
 * @param {"GET" | "POST" | "PUT"} method
 * @param {string[]} segments
 * @param {unknown} [body]
 * @param {string} [token]  defaults to the user token
 * @param {Record<string, string | undefined>} [query]  query parameters (undefined ones left out)
 */
async function call(ctx, method, segments, body, token, query) {
  const base = baseUrl(ctx);
  const bearer = token ?? userToken(ctx);
  if (bearer === null) {
    throw new CliError("no token: set KEYWARD_TOKEN or pass --token", {
      exitCode: EXIT_USAGE,
      hint: "for local development: export KEYWARD_TOKEN=$(npx keyward token --org ORG --role org:admin)",
    });
  }
  warnIfPlaintext(ctx, base);
  const url = apiUrl(base, segments);
  for (const [name, value] of Object.entries(query ?? {})) if (value !== undefined) url.searchParams.set(name, value);
  return request({ method, url, token: bearer, body, base });
}

/**
 * @param {Context} ctx
 * @param {unknown} body
 */
function printJson(ctx, body) {
  ctx.io.out(`${JSON.stringify(body, null, 2)}\n`);
}

/**
 * @param {unknown} body
 * @param {string} what
 * @returns {Record<string, unknown>}
 */
function expectObject(body, what) {
  if (body === null || typeof body !== "object" || Array.isArray(body)) throw new CliError(`unexpected answer: ${what} is not a JSON object`);
  return /** @type {Record<string, unknown>} */ (body);
}

/**
 * @param {unknown} body
 * @param {string} field
 * @returns {Record<string, unknown>[]}
 */
function expectList(body, field) {
  const items = expectObject(body, "the response")[field];
  if (!Array.isArray(items)) throw new CliError(`unexpected answer: no "${field}" list in the response`);
  return items.map((item) => expectObject(item, `an entry of "${field}"`));
}

// --- commands ----------------------------------------------------------------

/** @param {Context} ctx */
async function runToken(ctx) {
  const role = req(ctx, "role");
  if (!ROLES.includes(role)) throw usageError(`--role must be ${ROLES.join(" or ")}, got ${JSON.stringify(printable(role))}`, ctx.usage);
  const ttlSeconds = str(ctx, "ttl") === undefined ? 3600 : integer(ctx, "ttl", 1);
  const sub = str(ctx, "sub") ?? "dev-user";
  if (sub.trim() === "") throw usageError("--sub must not be empty", ctx.usage);
  const token = await mintDevToken(
    { org: req(ctx, "org"), role, sub, ttlSeconds, permissions: list(str(ctx, "permissions")), customerIds: list(str(ctx, "customer-ids")) },
    ctx.settings,
  );
  ctx.io.out(`${token}\n`);
}

/** @param {Context} ctx */
async function runKeysCreate(ctx) {
  const env = str(ctx, "env");
  if (env !== undefined && env !== "live" && env !== "test") throw usageError(`--env must be live or test, got ${JSON.stringify(printable(env))}`, ctx.usage);
  /** @type {Record<string, unknown>} */
  const body = { label: req(ctx, "label") };
  if (env !== undefined) body.environment = env;
  const scopes = list(str(ctx, "scopes"));
  if (scopes !== undefined) body.scopes = scopes;
  const expiresAt = isoTime(ctx, "expires-at");
  if (expiresAt !== undefined) body.expiresAt = expiresAt;
  const allowedIps = list(str(ctx, "allowed-ips"));
  if (allowedIps !== undefined) body.allowedIps = allowedIps;
  const refill = str(ctx, "refill");
  if (str(ctx, "credits") !== undefined)
    body.credits = { remaining: integer(ctx, "credits", 0), ...(refill === undefined ? {} : { refill: refillOf(ctx, refill) }) };
  else if (refill !== undefined) throw usageError("--refill needs --credits (the starting balance)", ctx.usage);
  const meta = str(ctx, "meta");
  if (meta !== undefined) body.meta = metaOf(ctx, meta);

  const created = expectObject(await call(ctx, "POST", ["orgs", req(ctx, "org"), "keys"], body), "the created key");
  ctx.io.err("warning: this is the only time the key is shown; Keyward stores just its hash. Copy it now into your secret store.\n");
  if (ctx.values.json) {
    printJson(ctx, created);
    return;
  }
  const { key, ...view } = created;
  if (typeof key !== "string" || key === "") throw new CliError("unexpected answer: the created key has no `key` field");
  if (ctx.values.quiet) {
    ctx.io.out(`${printable(key)}\n`);
    return;
  }
  ctx.io.out(`API key (shown once):\n\n    ${printable(key)}\n\n${keyView(view)}\n`);
}

/**
 * An option that must be one of `allowed`; undefined when absent.
 * @param {Context} ctx
 * @param {string} flag
 * @param {string[]} allowed
 */
function oneOf(ctx, flag, allowed) {
  const value = str(ctx, flag);
  if (value !== undefined && !allowed.includes(value)) {
    throw usageError(`--${flag} must be ${allowed.join(", ")}, got ${JSON.stringify(printable(value))}`, ctx.usage);
  }
  return value;
}

/** @param {Context} ctx */
async function runKeysList(ctx) {
  const org = req(ctx, "org");
  const max = str(ctx, "limit") === undefined ? Number.POSITIVE_INFINITY : integer(ctx, "limit", 1);
  const filters = {
    status: oneOf(ctx, "status", ["active", "revoked", "expired", "disabled"]),
    environment: oneOf(ctx, "env", ["live", "test"]),
    sort: oneOf(ctx, "sort", ["created", "lastUsed"]),
  };
  // Follow the listing's cursors to the end (or to --limit keys), one page a request.
  /** @type {Record<string, unknown>[]} */
  const keys = [];
  /** @type {string | undefined} */
  let cursor;
  do {
    const page = expectObject(
      await call(ctx, "GET", ["orgs", org, "keys"], undefined, undefined, { ...filters, limit: String(Math.min(1000, max - keys.length)), cursor }),
      "the response",
    );
    keys.push(...expectList(page, "keys"));
    cursor = typeof page.nextCursor === "string" ? page.nextCursor : undefined;
  } while (cursor !== undefined && keys.length < max);
  if (ctx.values.json) return printJson(ctx, { keys: keys.slice(0, max), nextCursor: keys.length >= max ? (cursor ?? null) : null });
  if (ctx.values.quiet) {
    for (const key of keys) ctx.io.out(`${printable(key.id)}\n`);
    return;
  }
  ctx.io.out(keys.length === 0 ? `no keys for org ${printable(org)}\n` : `${keyTable(keys)}\n`);
}

/** @param {Context} ctx */
async function runKeysGet(ctx) {
  const body = await call(ctx, "GET", ["orgs", req(ctx, "org"), "keys", req(ctx, "id")]);
  if (ctx.values.json) return printJson(ctx, body);
  ctx.io.out(`${keyView(expectObject(body, "the key"))}\n`);
}

/** @param {Context} ctx */
async function runKeysRevoke(ctx) {
  const at = isoTime(ctx, "at");
  const path = ["orgs", req(ctx, "org"), "keys", req(ctx, "id")];
  // Read first, only to say whether this call changes anything: revoking is
  // idempotent, and the revoke call below still runs (it completes a revocation
  // whose index write failed before). A failed read just leaves the note out.
  const before = await call(ctx, "GET", path).then(
    (key) => /** @type {Record<string, unknown>} */ (key),
    () => null,
  );
  const body = await call(ctx, "POST", [...path, "revoke"], at === undefined ? {} : { at });
  if (ctx.values.json) return printJson(ctx, body);
  if (before !== null && typeof before.revokedAt === "string") {
    ctx.io.err(`note: ${printable(req(ctx, "id"))} was already revoked at ${formatTime(before.revokedAt)}; nothing changed.\n`);
  } else if (before !== null && typeof before.revokeAt === "string" && at !== undefined && Date.parse(before.revokeAt) <= Date.parse(at)) {
    ctx.io.err(`note: ${printable(req(ctx, "id"))} was already scheduled to be revoked at ${formatTime(before.revokeAt)}; nothing changed.\n`);
  }
  ctx.io.out(`${keyView(expectObject(body, "the key"))}\n`);
}

/** @param {Context} ctx */
async function runKeysRevokeAll(ctx) {
  const org = req(ctx, "org");
  const confirm = req(ctx, "confirm");
  // Checked here too, so a slip never reaches the server; the server checks it again.
  if (confirm !== org) throw usageError(`--confirm must repeat the org id exactly (${JSON.stringify(printable(org))}); nothing was revoked`, ctx.usage);
  const env = str(ctx, "env");
  if (env !== undefined && env !== "live" && env !== "test") throw usageError(`--env must be live or test, got ${JSON.stringify(printable(env))}`, ctx.usage);
  /** @type {Record<string, unknown>} */
  const body = { confirm };
  if (env !== undefined) body.environment = env;
  const createdBefore = isoTime(ctx, "created-before");
  if (createdBefore !== undefined) body.createdBefore = createdBefore;
  const labelPrefix = str(ctx, "label-prefix");
  if (labelPrefix !== undefined) body.labelPrefix = labelPrefix;
  const result = await call(ctx, "POST", ["orgs", org, "keys", "revoke-all"], body);
  if (ctx.values.json) return printJson(ctx, result);
  const counts = expectObject(result, "the response");
  ctx.io.out(`revoked ${printable(counts.revoked)} keys of org ${printable(org)}; ${printable(counts.alreadyRevoked)} were already revoked\n`);
}

/** @param {Context} ctx */
async function runLimitSet(ctx) {
  const limit = integer(ctx, "limit", 0);
  const windowSeconds = integer(ctx, "window", 1);
  const token = operatorOrUserToken(ctx);
  const usingUserToken = userToken(ctx) !== null;
  let body;
  try {
    body = await call(ctx, "PUT", ["orgs", req(ctx, "org"), "keys", req(ctx, "id"), "rate-limit"], { limit, windowSeconds }, token);
  } catch (error) {
    if (error instanceof CliError && usingUserToken && (error.status === 401 || error.status === 403)) {
      error.hint = "limit set needs the operator token; it used --token / KEYWARD_TOKEN. Unset KEYWARD_TOKEN to use KEYWARD_OPERATOR_TOKEN.";
    }
    throw error;
  }
  if (ctx.values.json) return printJson(ctx, body);
  const result = expectObject(body, "the response");
  if ("id" in result) {
    ctx.io.out(`${keyView(result)}\n`);
  } else {
    const applied = /** @type {{ limit?: unknown, windowSeconds?: unknown }} */ (result.rateLimit ?? result);
    ctx.io.out(
      `rate limit of ${printable(req(ctx, "id"))} set to ${printable(applied.limit ?? limit)} requests / ${printable(applied.windowSeconds ?? windowSeconds)} s\n`,
    );
  }
}

/**
 * `daily:AMOUNT` or `monthly:AMOUNT:DAY`, as the admin API's refill object.
 * @param {Context} ctx
 * @param {string} spec
 */
function refillOf(ctx, spec) {
  const m = /^(daily):(\d+)$|^(monthly):(\d+)(?::(\d+))?$/.exec(spec.trim());
  if (!m) throw usageError(`--refill must be daily:AMOUNT or monthly:AMOUNT:DAY, got ${JSON.stringify(printable(spec))}`, ctx.usage);
  if (m[1]) return { interval: "daily", amount: Number(m[2]) };
  const day = m[5] === undefined ? 1 : Number(m[5]);
  if (day < 1 || day > 31) throw usageError(`--refill: DAY must be 1-31, got ${day}`, ctx.usage);
  return { interval: "monthly", amount: Number(m[4]), refillDay: day };
}

/**
 * @param {Context} ctx
 * @param {string} raw
 */
function metaOf(ctx, raw) {
  let parsed;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw usageError('--meta must be a JSON object, e.g. \'{"plan":"pro"}\'', ctx.usage);
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed))
    throw usageError("--meta must be a JSON object (or null with keys meta)", ctx.usage);
  return parsed;
}

/** @param {Context} ctx */
async function runKeysCredits(ctx) {
  const operation = oneOf(ctx, "op", ["set", "increment", "decrement"]) ?? "set";
  /** @type {Record<string, unknown>} */
  const body = { operation };
  if (str(ctx, "value") !== undefined) body.value = integer(ctx, "value", 0);
  else if (operation !== "set") throw usageError(`--value is required for ${operation}`, ctx.usage);
  const result = await call(ctx, "POST", ["orgs", req(ctx, "org"), "keys", req(ctx, "id"), "credits"], body, operatorOrUserToken(ctx));
  if (ctx.values.json) return printJson(ctx, result);
  ctx.io.out(`${keyView(expectObject(result, "the key"))}\n`);
}

/**
 * @param {Context} ctx
 * @param {"disable" | "enable"} action
 */
async function runKeysSuspend(ctx, action) {
  const result = await call(ctx, "POST", ["orgs", req(ctx, "org"), "keys", req(ctx, "id"), action], {}, operatorOrUserToken(ctx));
  if (ctx.values.json) return printJson(ctx, result);
  ctx.io.out(`${keyView(expectObject(result, "the key"))}\n`);
}

/** @param {Context} ctx */
async function runKeysMeta(ctx) {
  const raw = req(ctx, "meta");
  const meta = raw.trim() === "null" ? null : metaOf(ctx, raw);
  const result = await call(ctx, "PATCH", ["orgs", req(ctx, "org"), "keys", req(ctx, "id")], { meta });
  if (ctx.values.json) return printJson(ctx, result);
  ctx.io.out(`${keyView(expectObject(result, "the key"))}\n`);
}

/**
 * @param {Context} ctx
 * @param {boolean} clear
 */
async function runOrgLimit(ctx, clear) {
  const org = req(ctx, "org");
  const token = operatorToken(ctx);
  const result = clear
    ? await call(ctx, "DELETE", ["orgs", org, "rate-limit"], undefined, token)
    : await call(ctx, "PUT", ["orgs", org, "rate-limit"], { limit: integer(ctx, "limit", 0), windowSeconds: integer(ctx, "window", 1) }, token);
  if (ctx.values.json) return printJson(ctx, result);
  const r = /** @type {{ limit?: unknown, windowSeconds?: unknown, keys?: unknown }} */ (expectObject(result, "the response"));
  ctx.io.out(
    clear
      ? `org ${printable(org)} has no shared rate limit now (${printable(r.keys)} keys told)\n`
      : `org ${printable(org)}: ${printable(r.limit)} requests / ${printable(r.windowSeconds)} s shared by its keys (${printable(r.keys)} keys told)\n`,
  );
}

/** @param {Context} ctx */
async function runAudit(ctx) {
  const org = req(ctx, "org");
  const body = await call(ctx, "GET", ["orgs", org, "audit"]);
  if (ctx.values.json) return printJson(ctx, body);
  const events = expectList(body, "events");
  ctx.io.out(events.length === 0 ? `no audit events for org ${printable(org)}\n` : `${auditTable(events)}\n`);
}

const DURATION = /^(\d+)([mhd])$/;
const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 };

/** @param {Context} ctx */
async function runUsage(ctx) {
  const org = req(ctx, "org");
  const id = str(ctx, "id");
  const granularity = oneOf(ctx, "granularity", id === undefined ? ["hour", "day"] : ["minute", "hour", "day"]) ?? "hour";
  const since = str(ctx, "since") ?? (granularity === "minute" ? "1h" : granularity === "day" ? "30d" : "24h");
  const match = DURATION.exec(since.trim());
  if (!match) throw usageError(`--since must be a duration such as 90m, 24h or 7d, got ${JSON.stringify(printable(since))}`, ctx.usage);
  const from = new Date(Date.now() - Number(match[1]) * UNIT_MS[/** @type {"m" | "h" | "d"} */ (match[2])]).toISOString();
  const path = id === undefined ? ["orgs", org, "usage"] : ["orgs", org, "keys", id, "usage"];
  const body = expectObject(await call(ctx, "GET", path, undefined, undefined, { granularity, from }), "the response");
  if (ctx.values.json) return printJson(ctx, body);
  const buckets = expectList(body, "buckets");
  let head =
    id === undefined
      ? `org ${printable(org)}, by ${granularity}, since ${formatTime(from)}`
      : `key ${printable(id)}, by ${granularity}, since ${formatTime(from)}`;
  if (id !== undefined) {
    const where = /** @type {{ countries?: unknown[], asns?: unknown[] }} */ (body.locations ?? {});
    head += `\nlast used ${formatTime(body.lastUsedAt, "never")}; countries ${(where.countries ?? []).map(printable).join(" ") || "-"}; ASNs ${(where.asns ?? []).map(printable).join(" ") || "-"}`;
  } else {
    const totals = expectObject(body.totals, "totals");
    const refused = Object.values(/** @type {Record<string, number>} */ (totals.refused ?? {})).reduce((n, v) => n + v, 0);
    head += `\ntotal admitted ${printable(totals.admitted)}, refused ${refused}`;
  }
  let out = `${head}\n\n${usageTable(buckets)}\n`;
  if (id === undefined && Array.isArray(body.topKeys) && body.topKeys.length > 0) {
    const top = expectList(body, "topKeys");
    out += `\nbusiest keys:\n${top.map((k) => `  ${printable(k.keyId)}  admitted ${printable(k.admitted)}, refused ${printable(k.refused)}`).join("\n")}\n`;
  }
  ctx.io.out(out);
}

/** @param {Context} ctx */
async function runAnomalies(ctx) {
  const org = req(ctx, "org");
  const body = await call(ctx, "GET", ["orgs", org, "anomalies"], undefined, undefined, { status: ctx.values.all ? "all" : "open" });
  if (ctx.values.json) return printJson(ctx, body);
  const anomalies = expectList(body, "anomalies");
  ctx.io.out(anomalies.length === 0 ? `no ${ctx.values.all ? "" : "open "}anomalies for org ${printable(org)}\n` : `${anomalyTable(anomalies)}\n`);
}

/** @param {Context} ctx */
async function runAnomaliesAck(ctx) {
  const body = await call(ctx, "POST", ["orgs", req(ctx, "org"), "anomalies", req(ctx, "id"), "acknowledge"], {});
  if (ctx.values.json) return printJson(ctx, body);
  const a = expectObject(body, "the anomaly");
  ctx.io.out(`acknowledged ${printable(a.id)} (${printable(a.type)} on ${printable(a.keyId)}) at ${formatTime(a.acknowledgedAt)}\n`);
}
