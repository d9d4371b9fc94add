// Settings for the CLI: environment variables first, then `.dev.vars` in the
// current directory (dotenv lines, as written by `npm run dev`).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseEnv } from "node:util";

/**
 * Reads `.dev.vars` from `cwd`; an absent file is an empty set. Node's own dotenv
 * parser (`util.parseEnv`: `export `, quotes, `#` comments), the format wrangler
 * reads the same file in.
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
  return /** @type {Record<string, string>} */ (parseEnv(text));
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
