// The `keyward` command line: finds the command named by the leading words, parses
// its options as its definition says (cli/command.js) and runs it. The commands
// themselves are in cli/commands/, one module per group.
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { globalHelp } from "./command.js";
import { COMMANDS } from "./commands/index.js";
import { CliError, usageError } from "./errors.js";
import { printable } from "./http.js";
import { readDevVars } from "./settings.js";

/** @import { Command, GlobalName, Io } from "./command.js" */

/** The package's version, for `keyward --version`. */
function version() {
  const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
  return typeof pkg.version === "string" ? pkg.version : "unknown";
}

/**
 * Names in a column, each followed by its summary.
 * @param {readonly Command[]} commands
 */
function commandList(commands) {
  const width = Math.max(...commands.map((c) => c.name.length));
  return commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join("\n");
}

/**
 * The global options any of `commands` takes, in their defined order.
 * @param {readonly Command[]} commands
 * @returns {GlobalName[]}
 */
function globalsOf(commands) {
  /** @type {GlobalName[]} */
  const all = ["url", "token", "json"];
  return all.filter((name) => commands.some((c) => c.globals.includes(name)));
}

const MAIN_USAGE = `keyward: manage Keyward API keys

Usage: keyward <command> [options]

Commands:
${commandList(COMMANDS)}

${globalHelp(globalsOf(COMMANDS))}
  --version        Print the version of keyward

Settings come from environment variables, then from .dev.vars in the current directory.
Run \`keyward <command> --help\` for a command's options.
The same in a browser: the console at <url>/_keyward/console (sign in with \`keyward token\`'s output).
Exit status: 0 ok, 1 request failed (server error or unreachable), 2 usage or local setup error.`;

/**
 * The help of a group such as `keys` or `org limit`: its commands, and the global
 * options that apply to any of them.
 * @param {string} group
 */
function groupUsage(group) {
  const commands = COMMANDS.filter((c) => c.name.startsWith(`${group} `));
  const subcommands = commands.map((c) => c.name.slice(group.length + 1));
  return `Usage: keyward ${group} <${subcommands.join("|")}> [options]

${commandList(commands)}

Run \`keyward ${group} <subcommand> --help\` for its options.

${globalHelp(globalsOf(commands))}`;
}

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
 * The command named by the longest run of leading words.
 * @param {string[]} words
 * @returns {{ command: Command, used: number } | null}
 */
function findCommand(words) {
  for (let used = words.length; used > 0; used--) {
    const name = words.slice(0, used).join(" ");
    const command = COMMANDS.find((c) => c.name === name);
    if (command !== undefined) return { command, used };
  }
  return null;
}

/**
 * The longest run of leading words that begins some command's name (`keys`, `org limit`), or null.
 * @param {string[]} words
 */
function findGroup(words) {
  for (let used = words.length; used > 0; used--) {
    const group = words.slice(0, used).join(" ");
    if (COMMANDS.some((c) => c.name.startsWith(`${group} `))) return { group, used };
  }
  return null;
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
 * @returns {Promise<void>}
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

  const found = findCommand(words);
  if (found === null) {
    const prefix = findGroup(words);
    if (prefix === null) throw usageError(`keyward: unknown command \`${printable(words[0])}\``, MAIN_USAGE);
    const help = groupUsage(prefix.group);
    if (words.length === prefix.used && wantsHelp) {
      io.out(`${help}\n`);
      return;
    }
    throw usageError(
      words.length === prefix.used
        ? `keyward: \`${prefix.group}\` needs a subcommand`
        : `keyward: unknown command \`${printable(words.slice(0, prefix.used + 1).join(" "))}\``,
      help,
    );
  }

  const { command, used } = found;
  if (wantsHelp) {
    io.out(`${command.usage}\n`);
    return;
  }
  if (words.length > used) throw usageError(`keyward ${command.name}: unexpected argument \`${printable(words[used])}\``, command.usage);

  /** @type {Record<string, { type: "string" | "boolean", short?: string }>} */
  const parserOptions = {};
  for (const [name, option] of Object.entries(command.options)) {
    parserOptions[name] = option.short === undefined ? { type: option.type } : { type: option.type, short: option.short };
  }
  /** @type {Record<string, string | boolean | undefined>} */
  let values;
  try {
    ({ values } = parseArgs({ args: rest, options: parserOptions, strict: true, allowPositionals: false }));
  } catch (error) {
    throw usageError(`keyward ${command.name}: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`, command.usage);
  }
  for (const flag of command.required) {
    const value = values[flag];
    if (value === undefined || (typeof value === "string" && value.trim() === "")) {
      throw usageError(`keyward ${command.name}: missing required option --${flag}`, command.usage);
    }
  }

  const settings = { env: io.env, devVars: readDevVars(io.cwd) };
  // Parsed with the command's own options, required ones checked: what its `run` was typed for.
  const typed = /** @type {import("./command.js").Context["values"]} */ (values);
  await command.run({ values: typed, io, settings, usage: command.usage, globals: command.globals });
}
