import { secretsEqual } from "../admin/admin-auth";
import { KeywardError } from "../errors";
import type { SessionRecord } from "./console-sessions";
import type { SessionClient } from "./session-client";
import { clearedCookie, readSessionCookie, sessionCookie } from "./session-cookie";
import { expiresAt } from "./session-policy";
import { csrfToken, parseCookieValue } from "./session-secrets";

/** The header the console sends its session's CSRF token in. */
export const CSRF_HEADER = "x-keyward-csrf";

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

export interface CookieAuthOptions {
  sessions: SessionClient;
  /** Secure cookies (and their __Secure- name): everywhere but development. */
  secure: boolean;
}

/** A cookie-authenticated caller: the session, its org, and the Set-Cookie to send when this use renewed it. */
export interface CookieSession {
  org: string;
  secret: string;
  session: SessionRecord;
  setCookie: string | null;
}

const ended = (secure: boolean) =>
  new KeywardError("INVALID_SESSION", "Your console session has ended (signed out, expired, or ended by an admin). Sign in again.", {
    headers: { "Set-Cookie": clearedCookie(secure) },
  });

const crossSite = (why: string) =>
  new KeywardError(
    "CROSS_SITE_REQUEST",
    `${why} The session cookie is only accepted from Keyward's own console; scripts and other sites send "Authorization: Bearer <token>" instead.`,
  );

/**
 * Whether a cookie-carrying request may use its cookie at all. Cross-site
 * requests never may, whatever the method (so a cookie never rides a CORS call
 * from another origin, even a GET); an unsafe method also needs proof that it
 * came from the console's own page: an Origin or Sec-Fetch-Site saying so, and
 * the session's CSRF token in X-Keyward-CSRF (checked once the cookie is read).
 * Returns the refusal, or null.
 */
export function crossSiteRefusal(request: Request): KeywardError | null {
  const site = request.headers.get("sec-fetch-site");
  const origin = request.headers.get("origin");
  const own = new URL(request.url).origin;
  const safe = SAFE_METHODS.has(request.method);
  // "none": the user typed or bookmarked the address; harmless for a read.
  if (site !== null && site !== "same-origin" && !(safe && site === "none")) return crossSite(`This request came from another site (Sec-Fetch-Site: ${site}).`);
  if (origin !== null && origin !== own) return crossSite("This request came from another origin.");
  if (!safe && site === null && origin === null)
    return crossSite("A change made with the session cookie must say where it comes from (Origin); this request did not.");
  return null;
}

/**
 * Authenticates a request by its session cookie; null when it carries none. One
 * RPC to the org's ConsoleSessions object per call (bearer-token calls never get
 * here). Throws 403 CROSS_SITE_REQUEST before any lookup, 401 INVALID_SESSION
 * for a session that has ended (with a Set-Cookie removing it).
 */
export async function sessionFromCookie(request: Request, options: CookieAuthOptions, now: number): Promise<CookieSession | null> {
  const value = readSessionCookie(request.headers.get("cookie"), options.secure);
  if (value === null) return null;
  const refusal = crossSiteRefusal(request);
  if (refusal !== null) throw refusal;
  if (value === "ambiguous") throw ended(options.secure);
  const parsed = parseCookieValue(value);
  if (parsed === null) throw ended(options.secure);
  if (!SAFE_METHODS.has(request.method)) {
    const sent = request.headers.get(CSRF_HEADER);
    if (sent === null || !(await secretsEqual(sent, await csrfToken(parsed.secret)))) {
      throw crossSite(
        `A change made with the session cookie needs the session's CSRF token in X-Keyward-CSRF; this request's was ${sent === null ? "missing" : "wrong"}.`,
      );
    }
  }
  const found = await options.sessions.authenticate(parsed.org, parsed.secret, now);
  if (found === null) throw ended(options.secure);
  const setCookie = found.renewed ? sessionCookie(value, { secure: options.secure, expiresAt: expiresAt(found.session), now }) : null;
  return { org: parsed.org, secret: parsed.secret, session: found.session, setCookie };
}
