import { keywardForWorker, type WorkerHandler } from "./app";
import type { Env } from "./env";

export { KeyGuard } from "./guard/key-guard";
export { LeaseHolder } from "./guard/lease-holder";
export { OrgLedger } from "./ledger/org-ledger";
export { ConsoleSessions } from "./sessions/console-sessions";

// One app per isolate and set of bindings: config and policy are validated once,
// the key cache and the imported signing key live as long as the isolate.
let built: { env: Env; app: WorkerHandler } | null = null;

export default {
  fetch(request, env, ctx) {
    if (built === null || built.env !== env) built = { env, app: keywardForWorker(env) };
    return built.app.fetch(request, env, ctx);
  },
} satisfies ExportedHandler<Env>;
