// A command is defined once: its options, typed for its `run`, and the usage text
// written from them. Parsing and `--help` read the same definition, so the help can
// never offer an option the parser refuses, or leave out one it accepts.
import { DEFAULT_URL } from "./http.js";

/** @import { Settings } from "./settings.js" */

/**
 * One option. `value` names a string option's argument in the usage text (`--org ORG`);
 * `help` may hold several lines; `required` options are checked before `run`.
 * @typedef {{ type: "string", value: string, help: string, required?: boolean, short?: string }
 *   | { type: "boolean", help: string, short?: string }} OptionSpec
 */

/**
 * The parsed values of options `O`: a required string is always there, an optional
 * one may be undefined, a flag is true or undefined.
 * @template {Record<string, OptionSpec>} O
 * @typedef {{ -readonly [K in keyof O]: O[K] extends { type: "boolean" } ? boolean | undefined
 *   : O[K] extends { required: true } ? string : string | undefined }} Values
 */

/**
 * The options every command that talks to Keyward takes. A local command (one that
 * sends nothing, like `token`) takes none of them: only `-h, --help`.
 */
export const GLOBAL_OPTIONS = /** @type {const} */ ({
  url: { type: "string", value: "URL", help: `Keyward base URL (env KEYWARD_URL, default ${DEFAULT_URL})` },
  token: {
    type: "string",
    value: "TOKEN",
    help: "Bearer token for admin calls (env KEYWARD_TOKEN; prefer the env var,\ncommand-line arguments are visible to other local users)",
  },
  json: { type: "boolean", help: "Print the raw JSON response instead of tables (for scripts)" },
});

/** @typedef {keyof typeof GLOBAL_OPTIONS} GlobalName */
/** @typedef {Partial<Values<typeof GLOBAL_OPTIONS>>} GlobalValues */

const HELP_OPTION = /** @type {const} */ ({ type: "boolean", short: "h", help: "Show this help" });

/** Where the help text of a command's own option starts, and where "required" goes. */
const HELP_COLUMN = 23;
const REQUIRED_COLUMN = 66;
/** Where the help text of a global option starts (as in `keyward --help`). */
const GLOBAL_HELP_COLUMN = 19;
/** Usage lines are wrapped before this width. */
const WIDTH = 100;

/**
 * @typedef {object} Io
 * @property {(text: string) => void} out  stdout
 * @property {(text: string) => void} err  stderr
 * @property {Record<string, string | undefined>} env
 * @property {string} cwd
 */

/**
 * What a command's `run` gets. `values` holds its own options and the global ones
 * it takes (absent ones undefined).
 * @template {Record<string, OptionSpec>} [O=Record<string, OptionSpec>]
 * @typedef {object} Context
 * @property {Values<O> & GlobalValues} values
 * @property {Io} io
 * @property {Settings} settings
 * @property {string} usage  this command's usage text, for usage errors
 * @property {readonly GlobalName[]} globals  the global options the command takes
 */

/**
 * @template {Record<string, OptionSpec>} O
 * @typedef {object} CommandSpec
 * @property {string} name  the command words, e.g. "keys create"
 * @property {string} summary  one line for `keyward --help` and its group's help
 * @property {string} [description]  paragraphs between the usage line and the options
 * @property {O} options  the command's own options
 * @property {readonly GlobalName[]} globals  the global options that apply to it ([] for a local command)
 * @property {(ctx: Context<O>) => Promise<void>} run
 */

/**
 * A defined command, as the dispatcher sees it: its options merged with the
 * global ones it takes, and its usage text.
 * @typedef {object} Command
 * @property {string} name
 * @property {string} summary
 * @property {Record<string, OptionSpec>} options  own options, then the globals it takes, then help
 * @property {string[]} required
 * @property {readonly GlobalName[]} globals
 * @property {string} usage
 * @property {(ctx: Context) => Promise<void>} run
 */

/**
 * Defines a command. The options are inferred exactly (`const`), so `run` sees
 * `ctx.values.org` as a string when `--org` is required and `string | undefined`
 * when it is not; a misspelt option is a type error.
 * @template {Record<string, OptionSpec>} const O
 * @param {CommandSpec<O>} spec
 * @returns {Command}
 */
export function defineCommand(spec) {
  for (const name of Object.keys(spec.options)) {
    // Checked when the module loads: one meaning per flag, or the help and the parser would disagree.
    if (name in GLOBAL_OPTIONS || name === "help") throw new Error(`keyward ${spec.name}: --${name} is a global option; list it in globals`);
  }
  /** @type {Record<string, OptionSpec>} */
  const options = { ...spec.options };
  for (const name of spec.globals) options[name] = GLOBAL_OPTIONS[name];
  options.help = HELP_OPTION;
  return {
    name: spec.name,
    summary: spec.summary,
    options,
    required: Object.entries(spec.options)
      .filter(([, option]) => option.type === "string" && option.required === true)
      .map(([name]) => name),
    globals: spec.globals,
    usage: usageText(spec),
    // The dispatcher parses with `options` and checks `required` first, which is what Values<O> promises.
    run: /** @type {(ctx: Context) => Promise<void>} */ (spec.run),
  };
}

/**
 * `--org ORG`, `-q, --quiet`: how an option is written in the options list.
 * @param {string} name
 * @param {OptionSpec} option
 */
function flagText(name, option) {
  const flag = option.type === "string" ? `--${name} ${option.value}` : `--${name}`;
  return option.short === undefined ? flag : `-${option.short}, ${flag}`;
}

/**
 * The options as an aligned list: flag, help (continuation lines indented to it), "required".
 * @param {Record<string, OptionSpec>} options
 * @param {number} column
 */
function optionLines(options, column = HELP_COLUMN) {
  const lines = [];
  for (const [name, option] of Object.entries(options)) {
    const flag = `  ${flagText(name, option)}`;
    const [first = "", ...more] = option.help.split("\n");
    const head = flag.length + 1 > column ? `${flag}\n${" ".repeat(column)}${first}` : `${flag.padEnd(column)}${first}`;
    const required = option.type === "string" && option.required === true;
    lines.push(required ? `${head.padEnd(Math.max(REQUIRED_COLUMN, head.length + 1))}required` : head);
    for (const line of more) lines.push(`${" ".repeat(column)}${line}`);
  }
  return lines.join("\n");
}

/**
 * `Usage: keyward keys get --org ORG --id KEY_ID [--json]`: required options first,
 * then optional ones in brackets, wrapped under the first option.
 * @param {string} name
 * @param {Record<string, OptionSpec>} options
 */
function synopsis(name, options) {
  const words = [];
  for (const [flag, option] of Object.entries(options)) {
    const text = option.type === "string" ? `--${flag} ${option.value}` : `--${flag}`;
    words.push(option.type === "string" && option.required === true ? text : `[${text}]`);
  }
  // Required options first, in the order they are defined.
  words.sort((a, b) => Number(a.startsWith("[")) - Number(b.startsWith("[")));
  let line = `Usage: keyward ${name}`;
  const indent = " ".repeat(line.length + 1);
  const lines = [];
  let onLine = 0;
  for (const word of words) {
    if (onLine > 0 && line.length + 1 + word.length > WIDTH) {
      lines.push(line);
      line = `${indent}${word}`;
    } else {
      line += ` ${word}`;
    }
    onLine++;
  }
  lines.push(line);
  return lines.join("\n");
}

/**
 * The global options of a command (or a group), and `-h, --help`, as a titled list.
 * @param {readonly GlobalName[]} globals
 */
export function globalHelp(globals) {
  /** @type {Record<string, OptionSpec>} */
  const options = {};
  for (const name of globals) options[name] = GLOBAL_OPTIONS[name];
  options.help = HELP_OPTION;
  // A local command has no global options, only help.
  return `${globals.length === 0 ? "Other options" : "Global options"}:\n${optionLines(options, GLOBAL_HELP_COLUMN)}`;
}

/**
 * The full usage text of a command: usage line, description, its options, then the
 * global options that apply to it and only those.
 * @template {Record<string, OptionSpec>} O
 * @param {CommandSpec<O>} spec
 */
function usageText(spec) {
  const parts = [synopsis(spec.name, spec.options)];
  parts.push(spec.description ?? spec.summary);
  if (Object.keys(spec.options).length > 0) parts.push(`Options:\n${optionLines(spec.options)}`);
  parts.push(globalHelp(spec.globals));
  return parts.join("\n\n");
}
