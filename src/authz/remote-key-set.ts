import { createLocalJWKSet, createRemoteJWKSet, customFetch, errors, type JWTVerifyGetKey } from "jose";

export interface RemoteKeySetOptions {
  url: string;
  timeoutMs: number;
  fetch: typeof fetch;
  /** Shortest time between two fetches caused by unknown kids. */
  cooldownMs?: number;
  /** How long a fetched key set is used before it is fetched again. */
  maxAgeMs?: number;
  /** After a failed fetch, how long to answer 503 without fetching again (default 1 s). */
  failureHoldMs?: number;
  now?: () => number;
}

/** Thrown to a request that waited for another request's JWKS fetch, which failed or never finished. */
export class KeySetUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = "KeySetUnavailable";
  }
}

const POLL_MS = 5;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The identity provider's JWKS, fetched with jose and gated so that at most one
 * request at a time can cause a fetch.
 *
 * Why the gate: on Workers, jose cannot share an in-flight fetch between requests
 * (a promise created by one request must not be awaited by another), so N
 * concurrent tokens with unknown kids, or N requests on a cold isolate, would
 * each fetch the JWKS. Here the first request that might fetch takes the gate;
 * the others wait by polling plain shared state (never a shared promise) and then
 * use what it loaded. If its fetch failed, they answer 503 too instead of
 * fetching again; and for a moment after a failed fetch nobody fetches (the
 * keys already cached still serve). So a random-kid flood costs the provider one
 * fetch per cool-down, and an outage about one fetch per second per isolate. A
 * gate left behind by a request that was cancelled mid-fetch expires after the
 * fetch timeout.
 */
export function remoteKeySet(options: RemoteKeySetOptions): JWTVerifyGetKey {
  const remote = createRemoteJWKSet(new URL(options.url), {
    timeoutDuration: options.timeoutMs,
    cooldownDuration: options.cooldownMs ?? 30_000,
    cacheMaxAge: options.maxAgeMs ?? 600_000,
    // Never follow a redirect: the keys come from the configured URL or nowhere.
    [customFetch]: (url: string, init: RequestInit) => options.fetch(url, { ...init, redirect: "manual" }),
  });
  const now = options.now ?? Date.now;
  const holdMs = options.failureHoldMs ?? 1_000;
  const abandonAfterMs = options.timeoutMs + 1_000;
  let failedAt: number | null = null;
  let loadingSince: number | null = null;
  let loads = 0;
  const busy = () => loadingSince !== null && Date.now() - loadingSince < abandonAfterMs;

  return async (header, token) => {
    const deadline = Date.now() + abandonAfterMs;
    let waited = false;
    for (;;) {
      if (busy()) {
        if (Date.now() >= deadline) throw new KeySetUnavailable("timed out waiting for a concurrent JWKS fetch");
        const seen = loads;
        while (busy() && loads === seen && Date.now() < deadline) await sleep(POLL_MS);
        waited = true;
        continue;
      }
      // Fresh and cooling down: jose will not fetch, so no gate is needed.
      if (remote.fresh && remote.coolingDown) return remote(header, token);
      // The fetch we waited for failed: fail as it did rather than fetching again.
      if (waited && !remote.fresh) throw new KeySetUnavailable("the JWKS fetch of a concurrent request failed");
      if (failedAt !== null && now() - failedAt < holdMs) {
        // A fetch failed moments ago: do not hammer the provider. Keys we already
        // hold still serve; a kid we do not know cannot be told apart from a new
        // key we could not fetch, so it gets the 503 too.
        const cached = remote.fresh ? remote.jwks() : undefined;
        if (!cached) throw new KeySetUnavailable("the JWKS fetch failed moments ago");
        try {
          return await createLocalJWKSet(cached)(header, token);
        } catch (error) {
          if (error instanceof errors.JWKSNoMatchingKey) throw new KeySetUnavailable("unknown kid while the JWKS cannot be fetched");
          throw error;
        }
      }
      loadingSince = Date.now();
      try {
        const key = await remote(header, token);
        failedAt = null;
        return key;
      } catch (error) {
        if (!(error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys)) failedAt = now();
        throw error;
      } finally {
        loadingSince = null;
        loads++;
      }
    }
  };
}
