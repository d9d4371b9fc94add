/**
 * The console's session cookie. `HttpOnly` (no script reads it), `SameSite=Strict`
 * (never sent on a request another site starts: the console is one page that
 * calls its API with fetch, so it never needs the cookie on a cross-site
 * navigation; the portal link's redirect lands on the page, whose own calls are
 * same-site), `Path=/_keyward/` (the origin behind Keyward never sees it), and
 * `Secure` with the `__Secure-` name prefix outside development (plain-http
 * localhost has no TLS). Its Max-Age is the session's idle expiry, renewed with it.
 */

/** The cookie's name: `__Secure-` in production, where the browser then refuses it over plain http. */
export function cookieName(secure: boolean): string {
  return secure ? "__Secure-keyward_session" : "keyward_session";
}

export const COOKIE_PATH = "/_keyward/";

/** The Set-Cookie value for a session expiring at `expiresAt` (ms). */
export function sessionCookie(value: string, options: { secure: boolean; expiresAt: number; now: number }): string {
  const maxAge = Math.max(0, Math.floor((options.expiresAt - options.now) / 1000));
  return `${cookieName(options.secure)}=${value}; Path=${COOKIE_PATH}; Max-Age=${maxAge}; HttpOnly; SameSite=Strict${options.secure ? "; Secure" : ""}`;
}

/** The Set-Cookie value that removes the cookie (sign-out, an ended session). */
export function clearedCookie(secure: boolean): string {
  return `${cookieName(secure)}=; Path=${COOKIE_PATH}; Max-Age=0; HttpOnly; SameSite=Strict${secure ? "; Secure" : ""}`;
}

/** The session cookie's value from a Cookie header, or null. A cookie sent twice (another path's copy) is refused as ambiguous. */
export function readSessionCookie(header: string | null, secure: boolean): string | null | "ambiguous" {
  if (header === null) return null;
  const name = cookieName(secure);
  const values: string[] = [];
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) values.push(part.slice(eq + 1).trim());
  }
  if (values.length > 1) return "ambiguous";
  return values[0] ?? null;
}

/** The hint cookie's name: readable by the console's script, it holds no secret. */
export const HINT_COOKIE = "keyward_console_session";

/**
 * A hint for the console's script that a session cookie may be there (the
 * session cookie is HttpOnly, so the page cannot see it): with the hint, the
 * page asks GET /session on load; without it, it shows the sign-in card and makes
 * no call that would fail. It proves nothing and grants nothing; the page clears
 * it when the session turns out to have ended.
 */
export function hintCookie(options: { secure: boolean; endsAt: number; now: number }): string {
  const maxAge = Math.max(0, Math.floor((options.endsAt - options.now) / 1000));
  return `${HINT_COOKIE}=1; Path=/_keyward/console; Max-Age=${maxAge}; SameSite=Strict${options.secure ? "; Secure" : ""}`;
}
