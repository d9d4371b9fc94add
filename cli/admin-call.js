// What the commands that talk to Keyward share: the base URL, which token to send,
// one admin call, and checks that an answer has the shape the server documents.
import { callRoute as callAdminRoute, RouteError } from "../src/admin/route-client.js";
import { CliError, EXIT_USAGE, usageError } from "./errors.js";
import { DEFAULT_URL, displayUrl, isLoopback, parseBaseUrl, printable, send, serverError } from "./http.js";
import { setting } from "./settings.js";

/** @import { Context } from "./command.js" */
/** @import { RouteInput } from "../src/admin/route-client.js" */
/** @import { ResponseOf, RouteConfig, RouteRef } from "../src/http/route-def" */

/** @param {Context} ctx */
function baseUrl(ctx) {
  const raw = ctx.values.url ?? setting(ctx.settings, "KEYWARD_URL")?.value ?? DEFAULT_URL;
  const url = parseBaseUrl(raw);
  if (url === null) throw usageError(`--url / KEYWARD_URL must be an http(s) URL without credentials, got ${JSON.stringify(printable(raw))}`, ctx.usage);
  return url;
}

/**
 * The admin token: --token, else KEYWARD_TOKEN (environment only: it is not a .dev.vars setting).
 * @param {Context} ctx
 */
export function userToken(ctx) {
  const token = ctx.values.token ?? ctx.io.env.KEYWARD_TOKEN;
  return token !== undefined && token !== "" ? token : null;
}

/**
 * The operator token: KEYWARD_OPERATOR_TOKEN (environment, or .dev.vars for a local Keyward only).
 * @param {Context} ctx
 */
export function operatorToken(ctx) {
  const base = baseUrl(ctx);
  const operator = setting(ctx.settings, "KEYWARD_OPERATOR_TOKEN");
  if (operator === null) {
    // Only commands that take --token may be told to pass it.
    const alternative = ctx.globals.includes("token") ? " (or pass --token)" : "";
    throw new CliError(`no operator token: set KEYWARD_OPERATOR_TOKEN${alternative}`, {
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
export function operatorOrUserToken(ctx) {
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
 * One admin API call by route (src/admin/route-refs.js): the reply of a 2xx answer,
 * typed as the route's reply schema says; a CliError otherwise. `token` defaults
 * to the user token.
 * @template {RouteConfig} D
 * @param {Context} ctx
 * @param {RouteRef<D>} route
 * @param {RouteInput<D> & { token?: string }} input
 * @returns {Promise<ResponseOf<D>>}
 */
export async function callRoute(ctx, route, input) {
  const base = baseUrl(ctx);
  const token = input.token ?? userToken(ctx);
  if (token === null) {
    throw new CliError("no token: set KEYWARD_TOKEN or pass --token", {
      exitCode: EXIT_USAGE,
      hint: "for local development: export KEYWARD_TOKEN=$(npx keyward token --org ORG --role org:admin)",
    });
  }
  warnIfPlaintext(ctx, base);
  try {
    return await callAdminRoute((request) => send({ base, token }, request), route, input);
  } catch (error) {
    if (error instanceof RouteError) throw serverError(error);
    throw error;
  }
}

/**
 * @param {Context} ctx
 * @param {unknown} body
 */
export function printJson(ctx, body) {
  ctx.io.out(`${JSON.stringify(body, null, 2)}\n`);
}

/**
 * The answer as a JSON object, typed as the server's schema for it says (`T`, a
 * type from src/admin). Only "is an object" is checked here: the output is built
 * with `printable` and tolerates missing fields, so a server of another version
 * cannot make it print anything unsafe.
 * @template {object} [T=Record<string, unknown>]
 * @param {unknown} body
 * @param {string} what
 * @returns {T}
 */
export function expectObject(body, what) {
  if (body === null || typeof body !== "object" || Array.isArray(body)) throw new CliError(`unexpected answer: ${what} is not a JSON object`);
  return /** @type {T} */ (body);
}

/**
 * `body[field]` as a list of objects (typed `T`, as `expectObject`).
 * @template {object} [T=Record<string, unknown>]
 * @param {unknown} body
 * @param {string} field
 * @returns {T[]}
 */
export function expectList(body, field) {
  const items = expectObject(body, "the response")[field];
  if (!Array.isArray(items)) throw new CliError(`unexpected answer: no "${field}" list in the response`);
  return items.map((item) => expectObject(item, `an entry of "${field}"`));
}
