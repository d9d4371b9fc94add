import type { MiddlewareHandler } from "hono";
import { KeywardError } from "../errors";
import type { KeywardEnv } from "../http/keyward-env";

/** What a listed origin's page may send: the admin API's methods, a bearer token and JSON. */
const ALLOW_METHODS = "GET, POST, PUT, PATCH, DELETE";
const ALLOW_HEADERS = "Authorization, Content-Type";
/** What its script may read besides the CORS-safelisted headers. */
const EXPOSE_HEADERS = "X-Keyward-Request-Id, Retry-After, RateLimit, RateLimit-Policy";
/** Browsers cache a preflight this long (seconds); Chromium caps it at 7200. */
const MAX_AGE = "600";

/**
 * CORS for the admin API (`ADMIN_CORS_ORIGINS`), so that a seller's own dashboard
 * can call it from the browser with a user's token. Only listed origins get
 * `Access-Control-Allow-Origin` (their own, never `*`); every answer says
 * `Vary: Origin`, so no cache serves one origin's answer to another.
 *
 * Never `Access-Control-Allow-Credentials`: the browser then sends no cookie and
 * no HTTP auth cross-origin, so a listed origin can use only the bearer token its
 * own script holds. A console cookie session (if the console has one) cannot be
 * ridden from another origin, listed or not (docs/security.md).
 */
export function adminCors(origins: readonly string[]): MiddlewareHandler<KeywardEnv> {
  const allowed = new Set(origins);
  return async function adminCorsHeaders(c, next) {
    const origin = c.req.header("origin");
    const listed = origin !== undefined && allowed.has(origin);
    if (c.req.method === "OPTIONS" && origin !== undefined && c.req.header("access-control-request-method") !== undefined) {
      // A preflight: answered here, never by the admin API. An origin not listed
      // gets a refusal without any Access-Control-Allow-* header, which the browser
      // turns into a failed request.
      if (!listed) {
        throw new KeywardError("INVALID_REQUEST", `Cross-origin calls from ${origin} are not allowed: add it to ADMIN_CORS_ORIGINS to allow them.`, {
          headers: { Vary: "Origin" },
        });
      }
      return new Response(null, {
        status: 204,
        headers: {
          "Access-Control-Allow-Origin": origin,
          "Access-Control-Allow-Methods": ALLOW_METHODS,
          "Access-Control-Allow-Headers": ALLOW_HEADERS,
          "Access-Control-Max-Age": MAX_AGE,
          Vary: "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
        },
      });
    }
    await next();
    // Errors included (c.res is then onError's answer), so a dashboard can read them.
    c.res = new Response(c.res.body, c.res);
    c.res.headers.append("Vary", "Origin");
    if (listed) {
      c.res.headers.set("Access-Control-Allow-Origin", origin);
      c.res.headers.set("Access-Control-Expose-Headers", EXPOSE_HEADERS);
    }
  };
}
