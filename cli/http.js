// The admin API client: one request, its error body decoded, network failures named.
import { CliError } from "./errors.js";

export const DEFAULT_URL = "http://localhost:8787";
export const API_PREFIX = "/_keyward/v1";
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
 * `{base}/_keyward/v1/{segments...}`, each segment percent-encoded.
 * @param {URL} base
 * @param {string[]} segments
 */
export function apiUrl(base, segments) {
  const url = new URL(base.href);
  const basePath = url.pathname.replace(/\/+$/, "");
  url.pathname = `${basePath}${API_PREFIX}/${segments.map((s) => encodeURIComponent(s)).join("/")}`;
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

/** @typedef {"GET" | "POST" | "PUT" | "PATCH" | "DELETE"} Method */

/**
 * @typedef {object} RequestOptions
 * @property {Method} method
 * @property {URL} url
 * @property {string} token  Bearer token (never printed)
 * @property {unknown} [body]  sent as JSON
 * @property {URL} base  for messages
 */

/**
 * Sends one admin request and returns the decoded JSON body of a 2xx answer.
 * Throws CliError (exit 1) for an error answer or a network failure.
 * @param {RequestOptions} options
 * @returns {Promise<unknown>}
 */
export async function request(options) {
  /** @type {Record<string, string>} */
  const headers = { accept: "application/json", authorization: `Bearer ${options.token}`, "user-agent": USER_AGENT };
  if (options.body !== undefined) headers["content-type"] = "application/json";
  let response;
  try {
    response = await fetch(options.url, {
      method: options.method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      // A redirect could carry the token elsewhere; the admin API never redirects.
      redirect: "manual",
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (error) {
    throw new CliError(`cannot reach Keyward at ${displayUrl(options.base)}: ${describeNetworkError(error)}`, {
      hint: isLoopback(options.base) ? "is it running? start it with `npm run dev`, or point --url / KEYWARD_URL at it" : "check --url / KEYWARD_URL",
    });
  }

  let text;
  try {
    text = await response.text();
  } catch (error) {
    throw new CliError(`the answer from ${displayUrl(options.base)} was cut off: ${describeNetworkError(error)}`);
  }
  /** @type {unknown} */
  let body;
  let parsed = false;
  try {
    body = JSON.parse(text);
    parsed = true;
  } catch {
    body = undefined;
  }

  if (response.status >= 200 && response.status < 300) {
    if (!parsed) throw new CliError(`unexpected answer from ${displayUrl(options.url)}: HTTP ${response.status} without a JSON body`);
    return body;
  }
  if (response.status >= 300 && response.status < 400) {
    throw new CliError(`unexpected redirect (HTTP ${response.status}) from ${displayUrl(options.url)}; is --url the Keyward base URL?`);
  }
  throw serverError(response.status, body, text);
}

/**
 * The CliError for a non-2xx answer; `body` is the decoded Keyward error when there is one.
 * @param {number} status
 * @param {unknown} body
 * @param {string} text
 */
export function serverError(status, body, text) {
  const error = /** @type {{ code?: unknown, message?: unknown, requestId?: unknown, field?: unknown }} */ (
    body !== null && typeof body === "object" ? body : {}
  );
  if (typeof error.code === "string") {
    let message = `error ${printable(error.code)}: ${printable(error.message ?? "(no message)")}`;
    if (typeof error.field === "string" && error.field !== "") message += ` (field: ${printable(error.field)})`;
    if (typeof error.requestId === "string" && error.requestId !== "") message += `\nrequest id: ${printable(error.requestId)}`;
    const err = new CliError(message);
    err.status = status;
    err.code = error.code;
    return err;
  }
  const snippet = printable(text.trim().slice(0, 200));
  const err = new CliError(`error HTTP ${status}${snippet ? `: ${snippet}` : ""}`);
  err.status = status;
  return err;
}
