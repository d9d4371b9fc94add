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

/**
 * Settings → API Keys, served by Keyward itself at /_keyward/console: a static page
 * (page.html, page.css) and its browser program (browser/, bundled at build by
 * scripts/build-console.mjs) that talks to the admin API with the admin's token.
 */
export function consoleRoutes(): Hono<KeywardEnv> {
  const app = new Hono<KeywardEnv>();
  app.get("/", (c) => c.body(CONSOLE_HTML, 200, { ...SECURITY_HEADERS, "Content-Type": "text/html; charset=utf-8" }));
  app.get("/app.js", (c) => c.body(CONSOLE_JS, 200, { ...SECURITY_HEADERS, "Content-Type": "text/javascript; charset=utf-8" }));
  app.get("/app.css", (c) => c.body(CONSOLE_CSS, 200, { ...SECURITY_HEADERS, "Content-Type": "text/css; charset=utf-8" }));
  return app;
}
