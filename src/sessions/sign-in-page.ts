import type { SessionRecord } from "./console-sessions";
import { hintCookie, sessionCookie } from "./session-cookie";
import { expiresAt } from "./session-policy";
import { cookieValue } from "./session-secrets";

/**
 * The small pages of the console's sign-in (a portal link, the identity
 * provider's callback): our own text only, nothing from the request echoed.
 */

/** Headers of every answer here: never cached, never referred (codes ride in URLs), never framed. */
export const PAGE_HEADERS = {
  "Cache-Control": "no-store",
  "Referrer-Policy": "no-referrer",
  "Content-Security-Policy": "default-src 'none'; style-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "X-Content-Type-Options": "nosniff",
};

/** One page's words: its status, its heading and what to do. */
export interface PageText {
  status: 400 | 401 | 403 | 404 | 410 | 503;
  title: string;
  text: string;
}

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => ESCAPES[c] as string);

/**
 * A refusal page: `id` names its heading for tests and assistive links; `again`
 * adds a link back to the console's sign-in. Extra Set-Cookie headers (a flow
 * cookie to remove) go in `setCookies`.
 */
export function signInPage(page: PageText, options: { id: string; again?: boolean; setCookies?: string[] }): Response {
  const title = escapeHtml(page.title);
  const again = options.again ? `<p><a href="/_keyward/console">Back to sign-in</a></p>` : "";
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${title} · Keyward</title><link rel="stylesheet" href="/_keyward/console/app.css"></head><body><main id="content"><section class="card signin"><h1 id="${options.id}">${title}</h1><p>${escapeHtml(page.text)}</p>${again}</section></main></body></html>`;
  const headers = new Headers({ ...PAGE_HEADERS, "Content-Type": "text/html; charset=utf-8" });
  for (const cookie of options.setCookies ?? []) headers.append("Set-Cookie", cookie);
  return new Response(html, { status: page.status, headers });
}

/**
 * The answer that ends a sign-in: the new session's cookie and the page's hint
 * cookie, and 303 to the console, which finds the session with GET /session.
 * `extraCookies` (the flow cookie's removal) are sent beside them.
 */
export function signedIn(
  org: string,
  started: { secret: string; session: SessionRecord },
  options: { secure: boolean; now: number; extraCookies?: string[] },
): Response {
  const { secure, now } = options;
  const headers = new Headers({ ...PAGE_HEADERS, Location: "/_keyward/console#/keys" });
  headers.append("Set-Cookie", sessionCookie(cookieValue(org, started.secret), { secure, expiresAt: expiresAt(started.session), now }));
  headers.append("Set-Cookie", hintCookie({ secure, endsAt: started.session.endsAt, now }));
  for (const cookie of options.extraCookies ?? []) headers.append("Set-Cookie", cookie);
  return new Response(null, { status: 303, headers });
}
