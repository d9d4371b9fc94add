import type { KeyGuard } from "./guard/key-guard";
import type { OrgLedger } from "./ledger/org-ledger";

/** Bindings and variables of the Worker (wrangler.toml, .dev.vars, secrets). */
export interface Env {
  KEYS: KVNamespace;
  KEY_GUARD: DurableObjectNamespace<KeyGuard>;
  ORG_LEDGER: DurableObjectNamespace<OrgLedger>;
  /** Optional: the origin as a service binding (a Worker), instead of ORIGIN_URL over the network. */
  ORIGIN?: Fetcher;
  /** Optional: a Workers Analytics Engine dataset for fleet analytics (docs/usage.md). */
  USAGE_ANALYTICS?: AnalyticsEngineDataset;
  [variable: string]: unknown;
}
