import { Hono } from "hono";
import { KeywardError } from "./errors";
import { type GatewayOptions, gateway } from "./gateway";
import { errorResponse } from "./http/error-response";
import { keyParser } from "./keys/key-format";

/** What the gateway needs (its key parser is built here from the config), plus the admin routes. */
export type KeywardDeps = Omit<GatewayOptions, "parseKey"> & {
  /**
   * Loads the routes under /_keyward/v1 (the admin API); with it, the console is
   * served too. Called on the first request there, once per isolate.
   */
  admin?: () => Promise<Hono<KeywardEnv>>;
  /** Leaked-key reports under /_keyward/v1 (open to anyone), mounted before the admin routes. */
  leaks?: Hono<KeywardEnv>;
};

export type KeywardEnv = { Variables: { requestId: string } };

/** The Worker's execution context; none under app.request() in tests. */
function executionContext(c: { executionCtx: unknown }): ExecutionContext | undefined {
  try {
    return c.executionCtx as ExecutionContext;
  } catch {
    return undefined;
  }
}

/** waitUntil of the Worker's execution context; none under app.request() in tests (the work then just runs on). */
function deferrer(c: { executionCtx: { waitUntil(work: Promise<unknown>): void } }): ((work: Promise<unknown>) => void) | undefined {
  try {
    const ctx = c.executionCtx;
    return (work) => ctx.waitUntil(work);
  } catch {
    return undefined;
  }
}

/**
 * The admin API and the console, loaded on their first request: the request
 * path never parses or builds them (cold start, docs/performance.md). They run
 * as their own small app under the same request id; errors are thrown on, so
 * that the main app's error handler answers them as before.
 */
function lazyAdmin(
  load: () => Promise<Hono<KeywardEnv>>,
): (request: Request, requestId: string, env: unknown, ctx: ExecutionContext | undefined) => Promise<Response> {
  const requestIds = new WeakMap<Request, string>();
  let loaded: Promise<Hono<KeywardEnv>> | null = null;
  const build = async () => {
    const [api, { consoleRoutes }] = await Promise.all([load(), import("./console/routes")]);
    const app = new Hono<KeywardEnv>();
    app.use(async (c, next) => {
      c.set("requestId", requestIds.get(c.req.raw) ?? crypto.randomUUID());
      await next();
    });
    app.route("/_keyward/v1", api);
    app.route("/_keyward/console", consoleRoutes());
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

function notAKeywardRoute(request: Request): KeywardError {
  return new KeywardError("NOT_FOUND", `${request.method} ${new URL(request.url).pathname} is not a Keyward route. The admin API is under /_keyward/v1.`);
}

/** Keyward as a Hono app: reserved /_keyward routes, and everything else through the gateway. */
export function createKeyward(deps: KeywardDeps): Hono<KeywardEnv> {
  const app = new Hono<KeywardEnv>();
  const handle = gateway({ ...deps, parseKey: keyParser(deps.config.keyTypePrefix) });

  app.use(async (c, next) => {
    // Our own id: a client-supplied request id is not trusted for anything.
    c.set("requestId", crypto.randomUUID());
    await next();
  });

  app.get("/_keyward/health", (c) => c.json({ status: "ok" }, 200, { "Cache-Control": "no-store" }));
  app.get("/_keyward/.well-known/jwks.json", (c) => c.json(deps.signer.jwks, 200, { "Cache-Control": "public, max-age=300" }));
  if (deps.leaks) app.route("/_keyward/v1", deps.leaks);
  if (deps.admin) {
    const admin = lazyAdmin(deps.admin);
    for (const path of ["/_keyward/v1", "/_keyward/v1/*", "/_keyward/console", "/_keyward/console/*"]) {
      app.all(path, (c) => admin(c.req.raw, c.get("requestId"), c.env, executionContext(c)));
    }
  }
  app.all("/_keyward/*", (c) => {
    throw notAKeywardRoute(c.req.raw);
  });
  app.all("*", (c) => handle(c.req.raw, c.get("requestId"), deferrer(c)));

  app.onError((error, c) => {
    const requestId = c.get("requestId") ?? crypto.randomUUID();
    if (error instanceof KeywardError) return errorResponse(error, requestId);
    // Unknown errors: log the class only (a message could quote input), answer generically.
    deps.log.error("unhandled_error", { requestId, error: error instanceof Error ? error.name : typeof error });
    return errorResponse(new KeywardError("INTERNAL_ERROR", "Keyward failed to handle this request. It was not forwarded."), requestId);
  });
  return app;
}
