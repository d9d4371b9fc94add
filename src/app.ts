import { type Context, Hono } from "hono";
import policyFile from "../keyward.policy.json";
import { adminCors } from "./admin/admin-cors";
import { keyRevoker } from "./admin/key-revoker";
import { buildAuthorizer } from "./authz/authorizer";
import { compilePolicy, type RoutePolicy } from "./authz/policy";
import { userTokenVerifier } from "./authz/user-token";
import { type Config, ConfigError, loadConfig } from "./config";
import type { Env } from "./env";
import { KeywardError } from "./errors";
import { type GatewayOptions, gateway } from "./gateway";
import { guardClient } from "./guard/guard-client";
import type { KeyGuard } from "./guard/key-guard";
import type { LeaseHolder } from "./guard/lease-holder";
import { errorResponse } from "./http/error-response";
import type { KeywardEnv } from "./http/keyward-env";
import { type AdminApps, lazyAdmin, notAKeywardRoute } from "./http/lazy-admin";
import { contextSigner } from "./identity/context-token";
import { keyParser } from "./keys/key-format";
import { secretScanningKeys } from "./leaks/github-keys";
import { leakHandler } from "./leaks/leak-handler";
import { leakRoutes } from "./leaks/leak-routes";
import { ledgerClient } from "./ledger/ledger-client";
import type { OrgLedger } from "./ledger/org-ledger";
import { consoleLogger, type Logger } from "./log";
import { keyIndex } from "./lookup/key-index";
import { settleRoute } from "./metering/settle-route";
import { settleTokenVerifier } from "./metering/settle-token";
import type { BoundTimer } from "./proxy/websocket-bound";
import type { ConsoleSessions } from "./sessions/console-sessions";
import { sessionClient } from "./sessions/session-client";
import { type RequestFacts, writeDataPoint } from "./usage/fleet-analytics";
import { dohResolver, type ResolveHost } from "./webhooks/webhook-url";

/**
 * Keyward's one composition root. `keywardForWorker` turns the Worker's bindings
 * and variables into options (configuration and route policy, validated once);
 * `createKeyward` builds every service from those options exactly once (tests
 * and the benchmark pass counting wrappers instead of bindings); `keywardRoutes`
 * is the HTTP layer over the built services.
 */

export type { AdminApps } from "./http/lazy-admin";

/** The built services the HTTP layer needs: the gateway's, plus the admin and leak routes. */
export type KeywardDeps = GatewayOptions & {
  /**
   * Loads the routes under /_keyward/v1 (the admin API) and the console's
   * sign-in pages (`pages`, under /_keyward/console); with them, the console is
   * served too. Called on the first request there, once per isolate.
   */
  admin?: () => Promise<AdminApps>;
  /** Leaked-key reports under /_keyward/v1 (open to anyone), mounted before the admin routes. */
  leaks?: Hono<KeywardEnv>;
  /** Workers Analytics Engine dataset for fleet analytics (optional; nothing is written without it). */
  analytics?: AnalyticsEngineDataset | undefined;
};

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

/** What GET /_keyward/ answers: Keyward's own routes, so nobody has to guess them. */
export function keywardIndex(withAdmin: boolean) {
  return {
    name: "Keyward",
    health: "/_keyward/health",
    jwks: "/_keyward/.well-known/jwks.json",
    ...(withAdmin
      ? {
          adminApi: "/_keyward/v1",
          openapi: "/_keyward/v1/openapi.json",
          console: "/_keyward/console",
          hint: "Open /_keyward/console in a browser and sign in with an org admin's token (in development: npx keyward token --org ORG --role org:admin).",
        }
      : {}),
  };
}

/** Keyward's HTTP layer: reserved /_keyward routes, and everything else through the gateway. */
export function keywardRoutes(deps: KeywardDeps): Hono<KeywardEnv> {
  const app = new Hono<KeywardEnv>();
  const handle = gateway(deps);

  app.use(async (c, next) => {
    // Our own id: a client-supplied request id is not trusted for anything.
    c.set("requestId", crypto.randomUUID());
    await next();
  });

  app.get("/_keyward/health", (c) => c.json({ status: "ok" }, 200, { "Cache-Control": "no-store" }));
  app.get("/_keyward/.well-known/jwks.json", (c) => c.json(deps.signer.jwks, 200, { "Cache-Control": "public, max-age=300" }));
  if (deps.leaks) app.route("/_keyward/v1", deps.leaks);
  // The origin settles a metered request's hold with that request's context token (docs/metering.md).
  const settle = settleRoute({
    verify: settleTokenVerifier({ jwks: deps.signer.jwks, issuer: deps.config.contextIssuer }),
    settle: (hold, charge) => deps.guards.settle(hold.keyId, hold.requestId, charge),
  });
  app.post("/_keyward/v1/settle", (c) => settle(c.req.raw));
  // A newcomer's first guess: where things are.
  const index = (c: Context<KeywardEnv>) => c.json(keywardIndex(deps.admin !== undefined), 200, { "Cache-Control": "no-store" });
  app.get("/_keyward", index);
  app.get("/_keyward/", index);
  if (deps.admin) {
    // Only with origins listed: otherwise no CORS header at all, and an OPTIONS is the admin API's 405.
    if (deps.config.adminCorsOrigins.length > 0) app.use("/_keyward/v1/*", adminCors(deps.config.adminCorsOrigins));
    const admin = lazyAdmin(deps.admin);
    for (const path of ["/_keyward/v1", "/_keyward/v1/*", "/_keyward/console", "/_keyward/console/*"]) {
      app.all(path, (c) => admin(c.req.raw, c.get("requestId"), c.env, executionContext(c)));
    }
  }
  app.all("/_keyward/*", (c) => {
    throw notAKeywardRoute(c.req.raw);
  });
  const analytics = deps.analytics;
  if (analytics === undefined) app.all("*", (c) => handle(c.req.raw, c.get("requestId"), deferrer(c)));
  else {
    // Fleet analytics: one data point per request, whatever its answer, never awaited.
    app.all("*", async (c) => {
      const facts: RequestFacts = { org: null, keyId: null, environment: null };
      const started = deps.now();
      let outcome = "INTERNAL_ERROR";
      let status = 500;
      try {
        const response = await handle(c.req.raw, c.get("requestId"), deferrer(c), facts);
        outcome = "OK";
        status = response.status;
        return response;
      } catch (error) {
        if (error instanceof KeywardError) {
          outcome = error.code;
          status = error.status;
        }
        throw error;
      } finally {
        const cf = (c.req.raw as { cf?: { country?: unknown } }).cf;
        writeDataPoint(analytics, {
          ...facts,
          outcome,
          status,
          method: c.req.method,
          country: typeof cf?.country === "string" ? cf.country : null,
          latencyMs: deps.now() - started,
        });
      }
    });
  }

  app.onError((error, c) => {
    const requestId = c.get("requestId") ?? crypto.randomUUID();
    if (error instanceof KeywardError) return errorResponse(error, requestId);
    // Unknown errors: log the class only (a message could quote input), answer generically.
    deps.log.error("unhandled_error", { requestId, error: error instanceof Error ? error.name : typeof error });
    return errorResponse(new KeywardError("INTERNAL_ERROR", "Keyward failed to handle this request. It was not forwarded."), requestId);
  });
  return app;
}

/** Everything Keyward needs from outside; the Worker passes its bindings, tests pass counting wrappers. */
export interface KeywardOptions {
  config: Config;
  kv: KVNamespace;
  guards: DurableObjectNamespace<KeyGuard>;
  /** Lease holders, one per key and location, for keys in local admission; absent: every key is central. */
  holders?: DurableObjectNamespace<LeaseHolder> | undefined;
  ledgers: DurableObjectNamespace<OrgLedger>;
  /** The console's cookie sessions, one object per org; without it the console signs in with pasted tokens only. */
  sessions?: DurableObjectNamespace<ConsoleSessions> | undefined;
  /** Reaches the origin by URL. */
  fetch: typeof fetch;
  /** The origin Worker bound as the ORIGIN service, if any (no network hop). */
  originService?: { fetch: typeof fetch } | undefined;
  /** Fetches GitHub's secret scanning public keys document (defaults to `fetch`). */
  secretScanningFetch?: typeof fetch;
  /** Fetches from the identity provider: its JWKS, and for the console's sign-in its discovery document and token endpoint (defaults to `fetch`). */
  jwksFetch?: typeof fetch;
  /** Resolves a webhook URL's host when it is set (defaults to DNS-over-HTTPS through `fetch`). */
  resolveHost?: ResolveHost;
  policy: RoutePolicy | null;
  /** The USAGE_ANALYTICS dataset (fleet analytics), when bound. */
  analytics?: AnalyticsEngineDataset | undefined;
  /** Starts a WebSocket's closing timer (src/proxy/websocket-bound.ts); tests pass one they fire. Default: setTimeout. */
  websocketTimer?: BoundTimer | undefined;
  now: () => number;
  log: Logger;
}

/** Builds the whole Keyward app once per isolate (or per test): every service exactly once. */
export function createKeyward(options: KeywardOptions): Hono<KeywardEnv> {
  const { config, now, log } = options;
  const parseKey = keyParser(config.keyTypePrefix);
  const keys = keyIndex({ kv: options.kv, cacheTtlMs: config.cacheTtlMs, cacheMaxEntries: 10_000, timeoutMs: config.kvTimeoutMs, now, log });
  const guards = guardClient({ namespace: options.guards, holders: options.holders, timeoutMs: config.guardTimeoutMs, log });
  const verifier = userTokenVerifier({
    config: config.userTokens,
    log,
    fetch: options.jwksFetch ?? options.fetch,
    now,
    ...(options.policy ? { roleClaim: options.policy.roleClaim } : {}),
  });
  // The ledger is a Durable Object like the guard: the same deadline applies.
  const ledger = ledgerClient({ namespace: options.ledgers, timeoutMs: config.guardTimeoutMs, log });
  const revoker = keyRevoker({ guards, ledger, keys, log });
  // Console sessions: a Durable Object like the ledger, with the same deadline.
  const sessions = options.sessions ? sessionClient({ namespace: options.sessions, timeoutMs: config.guardTimeoutMs, log }) : undefined;
  return keywardRoutes({
    config,
    parseKey,
    keys,
    guards,
    signer: contextSigner({
      privateJwk: config.signingKey,
      issuer: config.contextIssuer,
      ttlSeconds: config.contextTtlSeconds,
      now,
      publishedKeys: config.publishedKeys,
    }),
    authorize: buildAuthorizer({ claims: config.userTokens.claims, verifier, policy: options.policy }),
    fetch: options.fetch,
    originService: options.originService,
    analytics: options.analytics,
    websocketTimer: options.websocketTimer,
    now,
    log,
    // Loaded on the first admin request, not with the request path: the request
    // path never builds it (cold start, docs/performance.md).
    admin: async () => {
      const [{ adminApi }, { portalPages }, { oidcPages }, { providerClient }] = await Promise.all([
        import("./admin/admin-api"),
        import("./sessions/portal-pages"),
        import("./sessions/oidc-pages"),
        import("./sessions/oidc-provider-client"),
      ]);
      const secure = config.environment === "production";
      const oidc = config.consoleOidc;
      const provider = oidc === null ? null : providerClient({ config: oidc, fetch: options.jwksFetch ?? options.fetch, now, log });
      const pages = portalPages({ sessions, secure, now, log });
      pages.route("/", oidcPages({ config: oidc, provider, sessions, verifier, claims: config.userTokens.claims, secure, now, log }));
      return {
        api: adminApi({ config, verifier, ledger, revoker, guards, keys, sessions, now, log, resolveHost: options.resolveHost ?? dohResolver(options.fetch) }),
        pages,
        // The button only where a sign-in can finish: with a session store to hold it.
        signInWith: oidc !== null && sessions !== undefined ? oidc.providerName : undefined,
      };
    },
    leaks: leakRoutes({
      handleLeak: leakHandler({ config: config.leaks, parseKey, keys, ledger, revoker, guards, now, log }),
      githubKeys: secretScanningKeys({
        url: config.leaks.githubKeysUrl,
        fetch: options.secretScanningFetch ?? options.fetch,
        timeoutMs: config.leaks.githubKeysTimeoutMs,
        now,
        log,
      }),
      guards,
      reportsPerMinute: config.leaks.reportsPerMinute,
      log,
    }),
  });
}

/** The route policy: the ROUTE_POLICY variable (JSON) when set, else keyward.policy.json. */
export function routePolicyOf(env: Record<string, unknown>): RoutePolicy {
  const fromVar = env.ROUTE_POLICY;
  if (typeof fromVar === "string" && fromVar.trim() !== "") {
    let parsed: unknown;
    try {
      parsed = JSON.parse(fromVar);
    } catch {
      throw new ConfigError("ROUTE_POLICY", "must be JSON (the same shape as keyward.policy.json)");
    }
    return compilePolicy(parsed, "ROUTE_POLICY");
  }
  return compilePolicy(policyFile);
}

/** What the Worker entry calls per request. */
export type WorkerHandler = { fetch: (request: Request, env: Env, ctx: ExecutionContext) => Response | Promise<Response> };

/**
 * Keyward for the Worker's bindings and variables. Configuration and policy are
 * validated here, once; a misconfigured deployment refuses everything (fail
 * closed) and says what to fix.
 */
export function keywardForWorker(env: Env, log: Logger = consoleLogger): WorkerHandler {
  try {
    return createKeyward({
      config: loadConfig(env),
      policy: routePolicyOf(env),
      kv: env.KEYS,
      guards: env.KEY_GUARD,
      holders: env.LEASE_HOLDER,
      ledgers: env.ORG_LEDGER,
      sessions: env.CONSOLE_SESSIONS,
      fetch: (input, init) => fetch(input, init),
      originService: env.ORIGIN,
      analytics: env.USAGE_ANALYTICS,
      now: () => Date.now(),
      log,
    });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    log.error("config_invalid", { problem: error.message });
    return {
      fetch: () =>
        errorResponse(
          new KeywardError("AUTH_BACKEND_UNAVAILABLE", `Keyward is misconfigured and refuses all requests. ${error.message}`, {
            headers: { "Retry-After": "60" },
          }),
          crypto.randomUUID(),
        ),
    };
  }
}
