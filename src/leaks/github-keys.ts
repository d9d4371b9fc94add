import * as z from "zod";
import type { Logger } from "../log";
import { withTimeout } from "../timeout";
import { derToRaw } from "./ecdsa-der";

/** Default: GitHub's public keys for secret scanning partner alerts. */
export const GITHUB_SECRET_SCANNING_KEYS = "https://api.github.com/meta/public_keys/secret_scanning";

export interface SecretScanningKeysOptions {
  url: string;
  fetch: typeof fetch;
  timeoutMs: number;
  now: () => number;
  log: Logger;
  /** How long a fetched document is used. */
  maxAgeMs?: number;
  /** Shortest time between two fetches caused by unknown identifiers. */
  cooldownMs?: number;
  /** After a failed fetch, how long to answer "unavailable" without fetching again. */
  failureHoldMs?: number;
}

/** The keys document cannot be had (unreachable, slow, malformed): the caller answers 503. */
export class KeysUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = "KeysUnavailable";
  }
}

const documentSchema = z.object({
  public_keys: z.array(z.object({ key_identifier: z.string().min(1).max(256), key: z.string().min(1).max(4096), is_current: z.boolean().optional() })).max(64),
});

async function importPem(pem: string): Promise<CryptoKey> {
  const body = pem.replace(/-----(BEGIN|END) PUBLIC KEY-----/g, "").replace(/\s+/g, "");
  const der = Uint8Array.from(atob(body), (c) => c.charCodeAt(0));
  return crypto.subtle.importKey("spki", der, { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"]);
}

const POLL_MS = 5;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * GitHub's secret scanning public keys, by identifier, fetched from the
 * configured document and cached.
 *
 * One fetch at a time per isolate: requests share no promise (a Workers request
 * must not await another request's I/O), so the first request that needs a fetch
 * takes a gate and the others poll shared state until it is done, then use what
 * it loaded (or fail as it failed). An unknown identifier causes at most one
 * refetch per cool-down, so a flood of made-up identifiers costs GitHub one
 * fetch a minute; after a failed fetch nobody fetches for a moment. A document
 * older than its maximum age is not used: GitHub retires keys by removing them.
 */
export function secretScanningKeys(options: SecretScanningKeysOptions) {
  const maxAgeMs = options.maxAgeMs ?? 3_600_000;
  const cooldownMs = options.cooldownMs ?? 60_000;
  const holdMs = options.failureHoldMs ?? 1_000;
  const abandonAfterMs = options.timeoutMs + 1_000;
  let keys: Map<string, CryptoKey> | null = null;
  let fetchedAt = Number.NEGATIVE_INFINITY;
  let failedAt = Number.NEGATIVE_INFINITY;
  let loadingSince: number | null = null;
  let loads = 0;
  let fetches = 0;
  const busy = () => loadingSince !== null && Date.now() - loadingSince < abandonAfterMs;

  async function load(): Promise<void> {
    fetches++;
    let response: Response;
    try {
      // Never follow a redirect: the keys come from the configured URL or nowhere.
      response = await withTimeout(
        options.fetch(options.url, { redirect: "manual", headers: { accept: "application/json" } }),
        options.timeoutMs,
        "keys document",
      );
    } catch (error) {
      throw new KeysUnavailable(`fetch failed: ${error instanceof Error ? error.name : "unknown"}`);
    }
    if (response.status !== 200) throw new KeysUnavailable(`answered ${response.status}`);
    let parsed: z.infer<typeof documentSchema>;
    try {
      parsed = documentSchema.parse(await withTimeout(response.json(), options.timeoutMs, "keys document"));
    } catch {
      throw new KeysUnavailable("not a public keys document");
    }
    const next = new Map<string, CryptoKey>();
    for (const entry of parsed.public_keys) {
      try {
        next.set(entry.key_identifier, await importPem(entry.key));
      } catch {
        // One bad entry does not make the others unusable; it simply cannot verify.
        options.log.error("secret_scanning_key_unusable", { keyIdentifier: entry.key_identifier.slice(0, 80) });
      }
    }
    keys = next;
    fetchedAt = options.now();
  }

  return {
    /** How many times the document was fetched (for tests and logs). */
    get fetches() {
      return fetches;
    },
    /** The key for `identifier`, or null when the document (fresh) does not have it. Throws KeysUnavailable. */
    async get(identifier: string): Promise<CryptoKey | null> {
      const deadline = Date.now() + abandonAfterMs;
      let waited = false;
      for (;;) {
        if (busy()) {
          if (Date.now() >= deadline) throw new KeysUnavailable("timed out waiting for a concurrent fetch");
          const seen = loads;
          while (busy() && loads === seen && Date.now() < deadline) await sleep(POLL_MS);
          waited = true;
          continue;
        }
        const now = options.now();
        const fresh = keys !== null && now - fetchedAt < maxAgeMs;
        if (fresh) {
          const key = keys?.get(identifier);
          if (key) return key;
          // Unknown to a document we fetched recently: a made-up or retired identifier.
          if (now - fetchedAt < cooldownMs) return null;
        }
        if (waited && failedAt >= fetchedAt) throw new KeysUnavailable("a concurrent fetch failed");
        if (now - failedAt < holdMs) throw new KeysUnavailable("a fetch failed moments ago");
        loadingSince = Date.now();
        try {
          await load();
        } catch (error) {
          failedAt = options.now();
          options.log.error("secret_scanning_keys_unavailable", { reason: error instanceof Error ? error.message : "unknown" });
          throw error instanceof KeysUnavailable ? error : new KeysUnavailable("fetch failed");
        } finally {
          loadingSince = null;
          loads++;
        }
        const key = keys?.get(identifier);
        return key ?? null;
      }
    },
  };
}

export type SecretScanningKeys = ReturnType<typeof secretScanningKeys>;

/** Verifies GitHub's signature (ECDSA P-256, SHA-256, DER, base64) over the raw body. */
export async function verifyEcdsaP256(key: CryptoKey, signatureBase64: string, body: Uint8Array): Promise<boolean> {
  let der: Uint8Array;
  try {
    der = Uint8Array.from(atob(signatureBase64.trim()), (c) => c.charCodeAt(0));
  } catch {
    return false;
  }
  const raw = derToRaw(der, 32);
  if (raw === null) return false;
  return crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, key, raw, body);
}
