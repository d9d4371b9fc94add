// The CLI's side of admin calls: the base URL, one request with network failures
// named, and an error answer as the CLI prints it (admin/route-client.js reads it).
import { API_PREFIX } from "../src/admin/route-client.js";
import { CliError } from "./errors.js";

/** @import { RouteError, RouteRequest } from "../src/admin/route-client.js" */

export const DEFAULT_URL = "http://localhost:8787";
const TIMEOUT_MS = 30_000;
const USER_AGENT = "keyward-cli";

/**
 * The URL for printing: no user info, query or fragment.
 * @param {URL} url
 */
export function displayUrl(url) {
  const copy = new URL(url.href);
  copy.username = "";
  copy.password = "";
  copy.search = "";
  copy.hash = "";
  return copy.href;
}

/** @param {URL} url */
export function isLoopback(url) {
  const host = url.hostname.replace(/^\[|\]$/g, "").toLowerCase();
  return host === "localhost" || host.endsWith(".localhost") || host === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/**
 * Parses `--url` / KEYWARD_URL; null when it is not an http(s) URL.
 * @param {string} raw
 * @returns {URL | null}
 */
export function parseBaseUrl(raw) {
  let url;
  try {
    url = new URL(raw);
  } catch {
    return null;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return null;
  if (url.username !== "" || url.password !== "") return null;
  url.search = "";
  url.hash = "";
  return url;
}

/**
 * Text from the server made safe for a terminal: control and bidi characters replaced.
 * @param {unknown} value
 */
export function printable(value) {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping them is the point
  return String(value).replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, "\uFFFD");
}

/** @param {unknown} error */
function describeNetworkError(error) {
  const err = /** @type {Error & { cause?: { code?: string, message?: string } }} */ (error);
  if (err?.name === "TimeoutError" || err?.name === "AbortError") return `no answer within ${TIMEOUT_MS / 1000} s`;
  const code = err?.cause?.code;
  const known = {
    ECONNREFUSED: "connection refused",
    ENOTFOUND: "host not found",
    EAI_AGAIN: "host name lookup failed",
    ECONNRESET: "connection reset",
    ETIMEDOUT: "connection timed out",
    EHOSTUNREACH: "host unreachable",
    ENETUNREACH: "network unreachable",
  };
  if (code && code in known) return `${known[/** @type {keyof typeof known} */ (code)]} (${code})`;
  return err?.cause?.message ?? err?.message ?? String(error);
}

/**
 * The CLI's transport for admin/route-client.js: sends one request to
 * `{base}/_keyward/v1{path}` with the bearer token and returns the answer's status
 * and text. Throws CliError (exit 1) for a network failure, a cut-off answer or a
 * redirect; the shared client reads the status and the error body.
 * @param {{ base: URL, token: string }} target  the token is never printed
 * @param {RouteRequest} request
 * @returns {Promise<{ status: number, text: string }>}
 */
export async function send(target, request) {
  const url = new URL(target.base.href);
  url.pathname = `${url.pathname.replace(/\/+$/, "")}${API_PREFIX}`;
  const full = new URL(`${url.href}${request.path}`);
  /** @type {Record<string, string>} */
  const headers = { accept: "application/json", authorization: `Bearer ${target.token}`, "user-agent": USER_AGENT };
  if (request.body !== undefined) headers["content-type"] = "application/json";
  let response;
  try {
    response = await fetch(full, {
      method: request.method,
      headers,
      body: request.body === undefined ? undefined : JSON.stringify(request.body),
      // A redirect could carry the token elsewhere; the admin API never redirects.
      redirect: "manual",
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (error) {
    throw new CliError(`cannot reach Keyward at ${displayUrl(target.base)}: ${describeNetworkError(error)}`, {
      hint: isLoopback(target.base) ? "is it running? start it with `npm run dev`, or point --url / KEYWARD_URL at it" : "check --url / KEYWARD_URL",
    });
  }
  if (response.status >= 300 && response.status < 400) {
    throw new CliError(`unexpected redirect (HTTP ${response.status}) from ${displayUrl(full)}; is --url the Keyward base URL?`);
  }
  try {
    return { status: response.status, text: await response.text() };
  } catch (error) {
    throw new CliError(`the answer from ${displayUrl(target.base)} was cut off: ${describeNetworkError(error)}`);
  }
}

/**
 * The CliError for a failed call, as the shared client read it: the error
 * contract's code, message, field and request id, or the status and a snippet.
 * @param {RouteError} error
 */
export function serverError(error) {
  let message;
  if (error.fromBody) {
    message = `error ${printable(error.code)}: ${printable(error.message)}`;
    if (error.field !== null) message += ` (field: ${printable(error.field)})`;
    if (error.requestId !== null) message += `\nrequest id: ${printable(error.requestId)}`;
  } else {
    message = `error HTTP ${error.status}${error.snippet === "" ? "" : `: ${printable(error.snippet)}`}`;
  }
  const err = new CliError(message);
  err.status = error.status;
  if (error.fromBody) err.code = error.code;
  return err;
}
