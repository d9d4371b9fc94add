import { createKeyward } from "./app";
import { ConfigError, loadConfig } from "./config";
import type { Env } from "./env";
import { KeywardError } from "./errors";
import { guardClient } from "./guard/guard-client";
import { errorResponse } from "./http/error-response";
import { contextSigner } from "./identity/context-token";
import { consoleLogger } from "./log";
import { keyIndex } from "./lookup/key-index";
import { buildAuthorizer } from "./authz/authorizer";

export { KeyGuard } from "./guard/key-guard";
export { OrgLedger } from "./ledger/org-ledger";

type Built = { fetch: (request: Request, env: Env, ctx: ExecutionContext) => Response | Promise<Response> };

// One app per isolate and set of bindings: config is validated once, the key
// cache and imported signing key live as long as the isolate.
let built: { env: Env; app: Built } | null = null;

function build(env: Env): Built {
  const log = consoleLogger;
  try {
    const config = loadConfig(env);
    const now = () => Date.now();
    const keys = keyIndex({ kv: env.KEYS, cacheTtlMs: config.cacheTtlMs, cacheMaxEntries: 10_000, timeoutMs: config.kvTimeoutMs, now, log });
    const guards = guardClient({ namespace: env.KEY_GUARD, timeoutMs: config.guardTimeoutMs, log });
    return createKeyward({
      config,
      keys,
      guards,
      signer: contextSigner({ privateJwk: config.signingKey, issuer: config.contextIssuer, ttlSeconds: config.contextTtlSeconds, now }),
      authorize: buildAuthorizer(config, { now, log }),
      fetch: (input, init) => fetch(input, init),
      now,
      log,
    });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    // Misconfigured: refuse everything (fail closed), and say what to fix.
    log.error("config_invalid", { problem: error.message });
    return {
      fetch: () =>
        errorResponse(
          new KeywardError("AUTH_BACKEND_UNAVAILABLE", `Keyward is misconfigured and refuses all requests: ${error.message}`, { headers: { "Retry-After": "60" } }),
          crypto.randomUUID(),
        ),
    };
  }
}

export default {
  fetch(request, env, ctx) {
    if (built === null || built.env !== env) built = { env, app: build(env) };
    return built.app.fetch(request, env, ctx);
  },
} satisfies ExportedHandler<Env>;
