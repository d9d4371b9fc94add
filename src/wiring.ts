import { keyRevoker } from "./admin/key-revoker";
import { createKeyward } from "./app";
import { buildAuthorizer } from "./authz/authorizer";
import type { RoutePolicy } from "./authz/policy";
import { userTokenVerifier } from "./authz/user-token";
import type { Config } from "./config";
import { guardClient } from "./guard/guard-client";
import type { KeyGuard } from "./guard/key-guard";
import { contextSigner } from "./identity/context-token";
import { keyParser } from "./keys/key-format";
import { secretScanningKeys } from "./leaks/github-keys";
import { leakHandler } from "./leaks/leak-handler";
import { leakRoutes } from "./leaks/leak-routes";
import { ledgerClient } from "./ledger/ledger-client";
import type { OrgLedger } from "./ledger/org-ledger";
import type { Logger } from "./log";
import { keyIndex } from "./lookup/key-index";

/** Everything Keyward needs from outside; the Worker passes its bindings, tests pass counting wrappers. */
export interface WiringOptions {
  config: Config;
  kv: KVNamespace;
  guards: DurableObjectNamespace<KeyGuard>;
  ledgers: DurableObjectNamespace<OrgLedger>;
  /** Reaches the origin by URL. */
  fetch: typeof fetch;
  /** The origin Worker bound as the ORIGIN service, if any (no network hop). */
  originService?: { fetch: typeof fetch } | undefined;
  /** Fetches GitHub's secret scanning public keys document (defaults to `fetch`). */
  secretScanningFetch?: typeof fetch;
  /** Fetches the identity provider's JWKS (defaults to `fetch`). */
  jwksFetch?: typeof fetch;
  policy: RoutePolicy | null;
  now: () => number;
  log: Logger;
}

/** Builds the whole Keyward app once per isolate (or per test). */
export function wireKeyward(options: WiringOptions) {
  const { config, now, log } = options;
  const keys = keyIndex({ kv: options.kv, cacheTtlMs: config.cacheTtlMs, cacheMaxEntries: 10_000, timeoutMs: config.kvTimeoutMs, now, log });
  const guards = guardClient({ namespace: options.guards, timeoutMs: config.guardTimeoutMs, log });
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
  return createKeyward({
    config,
    keys,
    guards,
    signer: contextSigner({ privateJwk: config.signingKey, issuer: config.contextIssuer, ttlSeconds: config.contextTtlSeconds, now }),
    authorize: buildAuthorizer({ claims: config.userTokens.claims, verifier, policy: options.policy }),
    fetch: options.fetch,
    originService: options.originService,
    now,
    log,
    // Loaded on the first admin request, not with the request path: the request
    // path never builds it (cold start, docs/performance.md).
    admin: async () => (await import("./admin/admin-api")).adminApi({ config, verifier, ledger, revoker, guards, keys, now, log }),
    leaks: leakRoutes({
      handleLeak: leakHandler({ config: config.leaks, parseKey: keyParser(config.keyTypePrefix), keys, ledger, revoker, now, log }),
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
