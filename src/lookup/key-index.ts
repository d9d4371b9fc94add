import { backendUnavailable, KeywardError } from "../errors";
import type { Logger } from "../log";
import { withTimeout } from "../timeout";
import { type KeyRecord, keyRecordSchema, kvKeyFor } from "./key-record";

export interface KeyIndexOptions {
  kv: KVNamespace;
  /** How long a record may be served from this isolate's memory. 0 disables the cache. */
  cacheTtlMs: number;
  /** At most this many records are cached per isolate (least recently used go first). */
  cacheMaxEntries: number;
  /** A KV read slower than this is treated as a failure (fail closed, 503). */
  timeoutMs: number;
  now: () => number;
  log: Logger;
}

export interface KeyIndex {
  /** The record for a key hash, or null when the key is unknown. Throws 503 when KV cannot answer. */
  get(hash: string): Promise<KeyRecord | null>;
  /** Writes a record and refreshes this isolate's copy. */
  put(hash: string, record: KeyRecord): Promise<void>;
}

/**
 * KV lookup behind a small in-isolate cache. Caching is safe because the record's
 * security state is only a hint: the key guard is asked on every request and its
 * answer (revoked, limit) overrides whatever a cached or stale KV record says.
 * Unknown keys are not cached, so a freshly created key is found on its first use
 * in this isolate; a flood of unknown keys costs one KV read each and no guard call.
 */
export function keyIndex(options: KeyIndexOptions): KeyIndex {
  const cache = new Map<string, { record: KeyRecord; until: number }>();

  function remember(hash: string, record: KeyRecord): void {
    if (options.cacheTtlMs <= 0) return;
    cache.delete(hash);
    cache.set(hash, { record, until: options.now() + options.cacheTtlMs });
    if (cache.size > options.cacheMaxEntries) {
      const oldest = cache.keys().next().value;
      if (oldest !== undefined) cache.delete(oldest);
    }
  }

  // Single flight: concurrent misses of one key in this isolate share one KV read
  // (a key's first burst in a fresh isolate cost one read per request before).
  const reading = new Map<string, Promise<KeyRecord | null>>();

  async function read(hash: string): Promise<KeyRecord | null> {
    let raw: unknown;
    try {
      raw = await withTimeout(options.kv.get(kvKeyFor(hash), "json"), options.timeoutMs, "KV");
    } catch (error) {
      // Fail closed: without the index we cannot tell a real key from a guess.
      options.log.error("kv_read_failed", { error: String(error) });
      throw backendUnavailable("the key index (KV)");
    }
    if (raw === null) return null;
    const parsed = keyRecordSchema.safeParse(raw);
    if (!parsed.success) {
      // A corrupt record is not evidence that the key is good or bad: refuse, log no content.
      options.log.error("kv_record_corrupt", { issues: parsed.error.issues.length });
      throw backendUnavailable("the key index (KV)");
    }
    remember(hash, parsed.data);
    return parsed.data;
  }

  return {
    async get(hash) {
      const hit = cache.get(hash);
      if (hit && hit.until > options.now()) {
        cache.delete(hash);
        cache.set(hash, hit);
        return hit.record;
      }
      const shared = reading.get(hash);
      if (shared !== undefined) {
        // Another request's read: bounded by this request's own deadline too, so
        // that no request waits on one that was cancelled (fail closed, 503).
        try {
          return await withTimeout(shared, options.timeoutMs, "KV");
        } catch (error) {
          if (error instanceof KeywardError) throw error;
          throw backendUnavailable("the key index (KV)");
        }
      }
      const own = read(hash).finally(() => reading.delete(hash));
      reading.set(hash, own);
      return own;
    },
    async put(hash, record) {
      await options.kv.put(kvKeyFor(hash), JSON.stringify(keyRecordSchema.parse(record)));
      remember(hash, record);
    },
  };
}
