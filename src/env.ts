import type { KeyGuard } from "./guard/key-guard";
import type { OrgLedger } from "./ledger/org-ledger";

/** Bindings and variables of the Worker (wrangler.toml, .dev.vars, secrets). */
export interface Env {
  KEYS: KVNamespace;
  KEY_GUARD: DurableObjectNamespace<KeyGuard>;
  ORG_LEDGER: DurableObjectNamespace<OrgLedger>;
  [variable: string]: unknown;
}
