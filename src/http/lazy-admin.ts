import { Hono } from "hono";
import { KeywardError } from "../errors";
import type { KeywardEnv } from "./keyward-env";

/** What the admin loader builds: the API under /_keyward/v1, and the console's sign-in pages under /_keyward/console. */
export interface AdminApps {
  api: Hono<KeywardEnv>;
  pages?: Hono<KeywardEnv>;
  /** The identity provider's name for the console's "Sign in with …" button; absent: no button. */
  signInWith?: string | undefined;
}

/**
 * The admin API and the console, loaded on their first request: the request
 * path never parses or builds them (cold start, docs/performance.md). They run
 * as their own small app under the same request id; errors are thrown on, so
 * that the main app's error handler answers them as before.
 */
export function lazyAdmin(
  load: () => Promise<AdminApps>,
): (request: Request, requestId: string, env: unknown, ctx: ExecutionContext | undefined) => Promise<Response> {
  const requestIds = new WeakMap<Request, string>();
  let loaded: Promise<Hono<KeywardEnv>> | null = null;
  const build = async () => {
    const [{ api, pages, signInWith }, { consoleRoutes }] = await Promise.all([load(), import("../console/routes")]);
    const app = new Hono<KeywardEnv>();
    app.use(async (c, next) => {
      c.set("requestId", requestIds.get(c.req.raw) ?? crypto.randomUUID());
      await next();
    });
    app.route("/_keyward/v1", api);
    if (pages) app.route("/_keyward/console", pages);
    app.route("/_keyward/console", consoleRoutes({ signInWith }));
    app.get("/_keyward/console/", (c) => c.redirect("/_keyward/console", 301));
    app.all("*", (c) => {
      throw notAKeywardRoute(c.req.raw);
    });
    app.onError((error) => {
      throw error;
    });
    return app;
  };
  return async (request, requestId, env, ctx) => {
    // A failed load is not kept: the next admin request tries again.
    loaded ??= build().catch((error) => {
      loaded = null;
      throw error;
    });
    const app = await loaded;
    requestIds.set(request, requestId);
    return app.fetch(request, env, ctx);
  };
}

/** The refusal of a path under /_keyward that names no route, pointing at the index. */
export function notAKeywardRoute(request: Request): KeywardError {
  return new KeywardError(
    "NOT_FOUND",
    `${request.method} ${new URL(request.url).pathname} is not a Keyward route. See /_keyward/ for the admin API, its OpenAPI document and the console.`,
  );
}
