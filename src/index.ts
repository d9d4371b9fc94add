import policyFile from "../keyward.policy.json";
import { compilePolicy } from "./authz/policy";
import { ConfigError, loadConfig } from "./config";
import type { Env } from "./env";
import { KeywardError } from "./errors";
import { errorResponse } from "./http/error-response";
import { consoleLogger } from "./log";
import { wireKeyward } from "./wiring";

export { KeyGuard } from "./guard/key-guard";
export { OrgLedger } from "./ledger/org-ledger";

/** The route policy: the ROUTE_POLICY variable (JSON) when set, else keyward.policy.json. */
function loadPolicy(env: Env) {
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

type Handler = { fetch: (request: Request, env: Env, ctx: ExecutionContext) => Response | Promise<Response> };

// One app per isolate and set of bindings: config and policy are validated once,
// the key cache and the imported signing key live as long as the isolate.
let built: { env: Env; app: Handler } | null = null;

function build(env: Env): Handler {
  const log = consoleLogger;
  try {
    return wireKeyward({
      config: loadConfig(env),
      policy: loadPolicy(env),
      kv: env.KEYS,
      guards: env.KEY_GUARD,
      ledgers: env.ORG_LEDGER,
      fetch: (input, init) => fetch(input, init),
      originService: env.ORIGIN,
      now: () => Date.now(),
      log,
    });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    // Misconfigured: refuse everything (fail closed), and say what to fix.
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

export default {
  fetch(request, env, ctx) {
    if (built === null || built.env !== env) built = { env, app: build(env) };
    return built.app.fetch(request, env, ctx);
  },
} satisfies ExportedHandler<Env>;
