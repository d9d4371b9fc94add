// Calls to the admin API by route: the one place where a route and its parameters
// become a path, and where a failed answer is read. The console and the CLI call
// through `callRoute`, each with its own transport (the console's fetch with the
// session's signal; the CLI's with a timeout and its own messages). Plain JavaScript
// typed with JSDoc, so the CLI runs it in Node as it is (see cli/tsconfig.json).
/** @import { ParamsOf, QueryOf, RequestOf, ResponseOf, RouteConfig, RouteRef } from "../http/route-def" */

/** Where the admin API is mounted. */
export const API_PREFIX = "/_keyward/v1";

/**
 * One request as a transport sends it: `path` is under API_PREFIX, with its query.
 * @typedef {{ method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE", path: string, body: unknown }} RouteRequest
 */

/**
 * Sends one request and resolves with the answer's status and text, or rejects
 * with the transport's own error (network failure, timeout, cancelled session).
 * @typedef {(request: RouteRequest) => Promise<{ status: number, text: string }>} Transport
 */

/**
 * What the admin API answered to a call that failed: its error body's fields when
 * it sent one (`code` is one of src/errors.ts ERROR_CODES), else HTTP_ERROR.
 */
export class RouteError extends Error {
  /**
   * @param {number} status
   * @param {string} code
   * @param {string} message
   * @param {{ requestId?: string | null, field?: string | null, fromBody?: boolean, snippet?: string }} [details]
   */
  constructor(status, code, message, details = {}) {
    super(message);
    this.name = "RouteError";
    this.status = status;
    this.code = code;
    this.requestId = details.requestId ?? null;
    this.field = details.field ?? null;
    /** False when the server sent no error body of its contract (a proxy's page, an empty answer). */
    this.fromBody = details.fromBody ?? false;
    /** Without an error body: the start of what came back instead (raw text; print it with care). */
    this.snippet = details.snippet ?? "";
  }
}

/**
 * The one reader of a failed answer: the error contract's body (`code`, `message`,
 * and `requestId` and `field` when there are any), or HTTP_ERROR with the first
 * 200 characters of whatever else came back.
 * @param {number} status
 * @param {string} text
 * @returns {RouteError}
 */
export function parseErrorAnswer(status, text) {
  let body = null;
  try {
    body = JSON.parse(text);
  } catch {}
  const e = /** @type {{ code?: unknown, message?: unknown, requestId?: unknown, field?: unknown }} */ (body !== null && typeof body === "object" ? body : {});
  if (typeof e.code === "string" && typeof e.message === "string") {
    return new RouteError(status, e.code, e.message, {
      requestId: typeof e.requestId === "string" && e.requestId !== "" ? e.requestId : null,
      field: typeof e.field === "string" && e.field !== "" ? e.field : null,
      fromBody: true,
    });
  }
  const snippet = text.trim().slice(0, 200);
  return new RouteError(status, "HTTP_ERROR", `Keyward answered HTTP ${status}${snippet === "" ? " without an error body" : `: ${snippet}`}`, { snippet });
}

/**
 * A route's path with its parameters filled in, each percent-encoded, and its query
 * (values that are undefined or null left out): "/orgs/:org/keys" and `{ org: "a b" }`
 * give "/orgs/a%20b/keys".
 * @param {RouteRef} route
 * @param {Record<string, string>} params
 * @param {Record<string, unknown>} [query]
 */
export function routePath(route, params, query) {
  const path = route.path.replace(/:([A-Za-z]+)/g, (_match, /** @type {string} */ name) => {
    const value = params[name];
    if (typeof value !== "string") throw new TypeError(`${route.method.toUpperCase()} ${route.path}: no value for :${name}`);
    return encodeURIComponent(value);
  });
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(query ?? {})) if (value !== undefined && value !== null) search.set(name, String(value));
  const qs = search.toString();
  return qs === "" ? path : `${path}?${qs}`;
}

/**
 * What a call takes besides its route: the path's parameters, the JSON body of a
 * route that takes one, the query of a route that has one.
 * @template {RouteConfig} D
 * @typedef {{ params: ParamsOf<D>, body?: RequestOf<D>, query?: Partial<QueryOf<D>> }} RouteInput
 */

/**
 * Calls one admin route through `send`: the reply of a 2xx answer, typed as the
 * route's reply schema says (undefined for an empty answer, such as a 204), or a
 * RouteError. The reply is not validated here (the clients do not bundle zod); the
 * clients print it defensively, and test/admin-routes.test.ts checks every 2xx reply
 * of the server against its schema.
 * @template {RouteConfig} D
 * @param {Transport} send
 * @param {RouteRef<D>} route
 * @param {RouteInput<D>} input
 * @returns {Promise<ResponseOf<D>>}
 */
export async function callRoute(send, route, input) {
  const method = /** @type {RouteRequest["method"]} */ (route.method.toUpperCase());
  const path = routePath(route, input.params, input.query);
  const { status, text } = await send({ method, path, body: input.body });
  if (status < 200 || status > 299) throw parseErrorAnswer(status, text);
  if (text === "") return /** @type {ResponseOf<D>} */ (undefined);
  try {
    return JSON.parse(text);
  } catch {
    throw new RouteError(status, "HTTP_ERROR", `Keyward answered HTTP ${status} with a body that is not JSON`);
  }
}
