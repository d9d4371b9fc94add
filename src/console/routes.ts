import { Hono } from "hono";
import type { KeywardEnv } from "../http/keyward-env";
import { CONSOLE_JS } from "./app-script";
import { CONSOLE_CSS, CONSOLE_HTML } from "./page";

const SECURITY_HEADERS = {
  "Content-Security-Policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "Cache-Control": "no-store",
};

/** Settings → API Keys, served by Keyward itself at /_keyward/console. */
export function consoleRoutes(): Hono<KeywardEnv> {
  const app = new Hono<KeywardEnv>();
  app.get("/", (c) => c.body(CONSOLE_HTML, 200, { ...SECURITY_HEADERS, "Content-Type": "text/html; charset=utf-8" }));
  app.get("/app.js", (c) => c.body(CONSOLE_JS, 200, { ...SECURITY_HEADERS, "Content-Type": "text/javascript; charset=utf-8" }));
  app.get("/app.css", (c) => c.body(CONSOLE_CSS, 200, { ...SECURITY_HEADERS, "Content-Type": "text/css; charset=utf-8" }));
  return app;
}
