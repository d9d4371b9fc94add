import type { KeyGuard } from "./guard/key-guard";
import type { LeaseHolder } from "./guard/lease-holder";
import type { OrgLedger } from "./ledger/org-ledger";
import type { ConsoleSessions } from "./sessions/console-sessions";

/** Bindings and variables of the Worker (wrangler.toml, .dev.vars, secrets). */
export interface Env {
  KEYS: KVNamespace;
  KEY_GUARD: DurableObjectNamespace<KeyGuard>;
  /** A key's lease holder per location, for keys in local admission (src/guard/lease-holder.ts). Absent: every key is central. */
  LEASE_HOLDER?: DurableObjectNamespace<LeaseHolder>;
  ORG_LEDGER: DurableObjectNamespace<OrgLedger>;
  /** The console's cookie sessions and portal links, one object per org (optional: without it, tokens only). */
  CONSOLE_SESSIONS?: DurableObjectNamespace<ConsoleSessions>;
  /** Optional: the origin as a service binding (a Worker), instead of ORIGIN_URL over the network. */
  ORIGIN?: Fetcher;
  /** Optional: a Workers Analytics Engine dataset for fleet analytics (docs/usage.md). */
  USAGE_ANALYTICS?: AnalyticsEngineDataset;
  [variable: string]: unknown;
}
