// Settings for the CLI: environment variables first, then `.dev.vars` in the
// current directory (dotenv lines, as written by `npm run dev`).
import { readFileSync } from "node:fs";
import { join } from "node:path";

/**
 * Parses dotenv text: `KEY=value`, optional `export `, values optionally wrapped
 * in single quotes (literal) or double quotes (`\n` escapes), `#` comments.
 * @param {string} text
 * @returns {Record<string, string>}
 */
export function parseDotenv(text) {
  /** @type {Record<string, string>} */
  const vars = {};
  for (const line of text.split(/\r?\n/)) {
    const match = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    const name = match?.[1];
    const raw = match?.[2];
    if (name === undefined || raw === undefined) continue;
    let value = raw;
    if (raw.length >= 2 && raw.startsWith("'") && raw.endsWith("'")) {
      value = raw.slice(1, -1);
    } else if (raw.length >= 2 && raw.startsWith('"') && raw.endsWith('"')) {
      value = raw.slice(1, -1).replace(/\\n/g, "\n").replace(/\\"/g, '"');
    } else {
      value = raw.replace(/\s+#.*$/, "");
    }
    vars[name] = value;
  }
  return vars;
}

/**
 * Reads `.dev.vars` from `cwd`; an absent file is an empty set.
 * @param {string} cwd
 * @returns {Record<string, string>}
 */
export function readDevVars(cwd) {
  let text;
  try {
    text = readFileSync(join(cwd, ".dev.vars"), "utf8");
  } catch (error) {
    if (/** @type {NodeJS.ErrnoException} */ (error).code === "ENOENT") return {};
    throw error;
  }
  return parseDotenv(text);
}

/**
 * @typedef {object} Settings
 * @property {Record<string, string | undefined>} env  process environment
 * @property {Record<string, string>} devVars  `.dev.vars` of the current directory
 */

/**
 * A non-empty setting: the environment variable wins over `.dev.vars`.
 * @param {Settings} settings
 * @param {string} name
 * @returns {{ value: string, source: "env" | ".dev.vars" } | null}
 */
export function setting(settings, name) {
  const fromEnv = settings.env[name];
  if (fromEnv !== undefined && fromEnv !== "") return { value: fromEnv, source: "env" };
  const fromFile = settings.devVars[name];
  if (fromFile !== undefined && fromFile !== "") return { value: fromFile, source: ".dev.vars" };
  return null;
}
