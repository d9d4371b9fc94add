/**
 * The cookie that ties a sign-in at the identity provider to the browser that
 * started it: it holds the flow's `state`, and the callback is accepted only
 * when the provider brings back the same state (login CSRF: an attacker cannot
 * finish their own sign-in in a victim's browser). `HttpOnly`, scoped to the
 * sign-in routes, gone after 10 minutes, `Secure` with the `__Secure-` prefix
 * outside development.
 *
 * `SameSite=Lax`, not Strict like the session cookie: the provider sends the
 * browser back with a top-level GET that another site started, and a Strict
 * cookie would not ride on it. Lax still withholds it from cross-site
 * subrequests and POSTs, and the callback only ever acts on a GET whose state matches.
 */

/** A sign-in at the provider must come back within this long. */
export const FLOW_TTL_MS = 10 * 60_000;

export const FLOW_COOKIE_PATH = "/_keyward/console/oidc/";

export function flowCookieName(secure: boolean): string {
  return secure ? "__Secure-keyward_oidc_state" : "keyward_oidc_state";
}

export function flowCookie(state: string, secure: boolean): string {
  return `${flowCookieName(secure)}=${state}; Path=${FLOW_COOKIE_PATH}; Max-Age=${FLOW_TTL_MS / 1000}; HttpOnly; SameSite=Lax${secure ? "; Secure" : ""}`;
}

export function clearedFlowCookie(secure: boolean): string {
  return `${flowCookieName(secure)}=; Path=${FLOW_COOKIE_PATH}; Max-Age=0; HttpOnly; SameSite=Lax${secure ? "; Secure" : ""}`;
}

/** The state in the flow cookie, or null (none, or more than one: ambiguous is none). */
export function readFlowCookie(header: string | null, secure: boolean): string | null {
  if (header === null) return null;
  const name = flowCookieName(secure);
  const values = header
    .split(";")
    .map((part) => part.trim())
    .filter((part) => part.startsWith(`${name}=`))
    .map((part) => part.slice(name.length + 1));
  return values.length === 1 ? (values[0] as string) : null;
}
