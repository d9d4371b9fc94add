import { Hono } from "hono";
import CONSOLE_JS from "../../.build/console/app.js.txt";
import type { KeywardEnv } from "../http/keyward-env";
import CONSOLE_CSS from "./page.css";
import CONSOLE_HTML from "./page.html";

/** No inline script or style and nothing from another origin: the page only talks to this Keyward. */
export const CONSOLE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const SECURITY_HEADERS = {
  "Content-Security-Policy": CONSOLE_CSP,
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "Cache-Control": "no-store",
};

export interface ConsoleRoutesOptions {
  /** The identity provider's name: the sign-in card offers "Sign in with <name>" (src/sessions/oidc-pages.ts). */
  signInWith?: string | undefined;
}

/** Where page.html's sign-in card takes the identity provider's button. */
const SIGN_IN_WITH_MARK = "<!-- keyward:sign-in-with -->";

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** The page, with the identity provider's button when it is configured (a plain link: it works before the script runs). */
export function consolePage(signInWith: string | undefined): string {
  if (signInWith === undefined) return CONSOLE_HTML;
  const label = signInWith.replace(/[&<>"']/g, (c) => ESCAPES[c] as string);
  return CONSOLE_HTML.replace(
    SIGN_IN_WITH_MARK,
    `<p class="idp"><a id="signin-idp" class="button" href="/_keyward/console/oidc/start">Sign in with ${label}</a></p><p class="muted">Or, for development and operators:</p>`,
  );
}

/**
 * Settings → API Keys, served by Keyward itself at /_keyward/console: a static page
 * (page.html, page.css) and its browser program (browser/, bundled at build by
 * scripts/build-console.mjs) that talks to the admin API with the admin's token.
 */
export function consoleRoutes(options: ConsoleRoutesOptions = {}): Hono<KeywardEnv> {
  const app = new Hono<KeywardEnv>();
  const html = consolePage(options.signInWith);
  app.get("/", (c) => c.body(html, 200, { ...SECURITY_HEADERS, "Content-Type": "text/html; charset=utf-8" }));
  app.get("/app.js", (c) => c.body(CONSOLE_JS, 200, { ...SECURITY_HEADERS, "Content-Type": "text/javascript; charset=utf-8" }));
  app.get("/app.css", (c) => c.body(CONSOLE_CSS, 200, { ...SECURITY_HEADERS, "Content-Type": "text/css; charset=utf-8" }));
  return app;
}
