// Reading option values: numbers, times, lists, choices. A bad value is a usage
// error (exit 2) naming the flag, before anything is sent.
import { usageError } from "./errors.js";
import { printable } from "./http.js";

/**
 * A command's context, as far as reading option `F` needs it: its values hold `F`
 * (so a misspelt flag is a type error) and its usage text goes into errors.
 * @template {string} F
 * @template V
 * @typedef {{ values: { [K in F]: V }, usage: string }} With
 */

/**
 * A whitespace- or comma-separated list; undefined when the flag is absent.
 * @param {string | undefined} value
 */
export function list(value) {
  if (value === undefined) return undefined;
  return value.split(/[\s,]+/).filter((v) => v !== "");
}

/**
 * A required integer option, at least `min`.
 * @template {string} F
 * @param {With<F, string>} ctx
 * @param {F} flag
 * @param {number} min
 */
export function integer(ctx, flag, min) {
  return parseInteger(ctx.values[flag], flag, min, ctx.usage);
}

/**
 * @param {string} value
 * @param {string} flag
 * @param {number} min
 * @param {string} usage
 */
function parseInteger(value, flag, min, usage) {
  const raw = value.trim();
  const n = Number(raw);
  if (!/^-?\d+$/.test(raw) || !Number.isSafeInteger(n) || n < min) {
    throw usageError(`--${flag} must be an integer >= ${min}, got ${JSON.stringify(raw)}`, usage);
  }
  return n;
}

/**
 * An optional integer option, at least `min`; undefined when absent.
 * @template {string} F
 * @param {With<F, string | undefined>} ctx
 * @param {F} flag
 * @param {number} min
 */
export function optionalInteger(ctx, flag, min) {
  const raw = ctx.values[flag];
  return raw === undefined ? undefined : parseInteger(raw, flag, min, ctx.usage);
}

/**
 * A date-time option, as a UTC ISO string; undefined when absent.
 * @template {string} F
 * @param {With<F, string | undefined>} ctx
 * @param {F} flag
 */
export function isoTime(ctx, flag) {
  const raw = ctx.values[flag];
  if (raw === undefined) return undefined;
  const ms = Date.parse(raw);
  if (Number.isNaN(ms)) throw usageError(`--${flag} must be an ISO date-time such as 2027-01-01T00:00:00Z, got ${JSON.stringify(raw)}`, ctx.usage);
  return new Date(ms).toISOString();
}

/**
 * An option that must be one of `allowed`; undefined when absent.
 * @template {string} F
 * @template {string} T
 * @param {With<F, string | undefined>} ctx
 * @param {F} flag
 * @param {readonly T[]} allowed
 * @returns {T | undefined}
 */
export function oneOf(ctx, flag, allowed) {
  const value = ctx.values[flag];
  if (value === undefined) return undefined;
  const found = allowed.find((a) => a === value);
  if (found === undefined) throw usageError(`--${flag} must be ${allowed.join(", ")}, got ${JSON.stringify(printable(value))}`, ctx.usage);
  return found;
}

/**
 * "a, b or c", for help texts.
 * @param {readonly string[]} words
 */
export function inWords(words) {
  return words.length < 2 ? words.join("") : `${words.slice(0, -1).join(", ")} or ${words.at(-1)}`;
}

/**
 * Every member of a string union, in the order written. Spelled as an object with
 * `@satisfies Record<Union, true>` so the compiler checks the list is complete and
 * has nothing extra (against a type from the server's schemas), and the order
 * stays the one in the messages.
 * @template {string} T
 * @param {Record<T, true>} members
 * @returns {T[]}
 */
export function allOf(members) {
  return /** @type {T[]} */ (Object.keys(members));
}
