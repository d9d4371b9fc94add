import { Hono } from "hono";
import { consoleRoutes } from "./console/routes";
import { KeywardError } from "./errors";
import { type GatewayOptions, gateway } from "./gateway";
import { errorResponse } from "./http/error-response";
import { keyParser } from "./keys/key-format";

/** What the gateway needs (its key parser is built here from the config), plus the admin routes. */
export type KeywardDeps = Omit<GatewayOptions, "parseKey"> & {
  /** Extra routes under /_keyward/v1 (the admin API), mounted when given. */
  admin?: Hono<KeywardEnv>;
  /** Leaked-key reports under /_keyward/v1 (open to anyone), mounted before the admin routes. */
  leaks?: Hono<KeywardEnv>;
};

export type KeywardEnv = { Variables: { requestId: string } };

/** waitUntil of the Worker's execution context; none under app.request() in tests (the work then just runs on). */
function deferrer(c: { executionCtx: { waitUntil(work: Promise<unknown>): void } }): ((work: Promise<unknown>) => void) | undefined {
  try {
    const ctx = c.executionCtx;
    return (work) => ctx.waitUntil(work);
  } catch {
    return undefined;
  }
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
    app.route("/_keyward/v1", deps.admin);
    app.route("/_keyward/console", consoleRoutes());
    app.get("/_keyward/console/", (c) => c.redirect("/_keyward/console", 301));
  }
  app.all("/_keyward/*", (c) => {
    throw new KeywardError("NOT_FOUND", `${c.req.method} ${new URL(c.req.url).pathname} is not a Keyward route. The admin API is under /_keyward/v1.`);
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
