import { env } from "cloudflare:workers";
import { createKeyward, type KeywardDeps } from "../../src/app";
import { buildAuthorizer } from "../../src/authz/authorizer";
import { type Config, loadConfig } from "../../src/config";
import type { Authorizer } from "../../src/gateway";
import { guardClient } from "../../src/guard/guard-client";
import type { KeyGuard } from "../../src/guard/key-guard";
import { contextSigner } from "../../src/identity/context-token";
import { generateKey, hashKey, type KeyEnvironment, randomId } from "../../src/keys/key-format";
import type { Logger } from "../../src/log";
import { keyIndex } from "../../src/lookup/key-index";
import { type KeyRecord, kvKeyFor } from "../../src/lookup/key-record";

/** A fault the guard wrapper raises instead of (or after) the real RPC. */
export interface GuardFault {
  retryable?: boolean;
  overloaded?: boolean;
  /** Run the real call first, then fail (the reply was lost). */
  afterCall?: boolean;
  /** Never answer. */
  hang?: boolean;
}

export interface Calls {
  kvGet: number;
  kvPut: number;
  guard: string[];
  origin: Request[];
}

export interface HarnessOptions {
  vars?: Record<string, unknown>;
  origin?: (request: Request) => Response | Promise<Response>;
  kv?: KVNamespace;
  authorize?: (config: Config) => Authorizer;
  now?: () => number;
}

/** The demo origin's answer: what it received. */
export async function echo(request: Request): Promise<Response> {
  const url = new URL(request.url);
  return Response.json({ method: request.method, path: url.pathname + url.search, headers: Object.fromEntries(request.headers) });
}

function countingKv(real: KVNamespace, calls: Calls): KVNamespace {
  return {
    get: (...args: unknown[]) => {
      calls.kvGet++;
      return (real.get as (...a: unknown[]) => unknown)(...args);
    },
    put: (...args: unknown[]) => {
      calls.kvPut++;
      return (real.put as (...a: unknown[]) => unknown)(...args);
    },
  } as unknown as KVNamespace;
}

function countingGuards(real: DurableObjectNamespace<KeyGuard>, calls: Calls, faults: GuardFault[]): DurableObjectNamespace<KeyGuard> {
  return {
    idFromName: (name: string) => real.idFromName(name),
    get: (id: DurableObjectId) => {
      const stub = real.get(id) as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
      return new Proxy(
        {},
        {
          get: (_target, method: string) =>
            async (...args: unknown[]) => {
              calls.guard.push(method);
              const fault = faults.shift();
              if (fault?.hang) return new Promise(() => {});
              if (fault && !fault.afterCall) throw Object.assign(new Error("injected guard fault"), fault);
              const result = await (stub[method] as (...a: unknown[]) => Promise<unknown>)(...args);
              if (fault) throw Object.assign(new Error("injected guard fault after the call"), fault);
              return result;
            },
        },
      );
    },
  } as unknown as DurableObjectNamespace<KeyGuard>;
}

export interface SeedOptions {
  org?: string;
  environment?: KeyEnvironment;
  scopes?: string[] | null;
  limit?: number;
  windowSeconds?: number;
  status?: "active" | "revoked";
  expiresAt?: number | null;
  version?: number;
}

/** Writes a key straight into KV (as the admin API would) and returns it. */
export async function seedKey(options: SeedOptions = {}, kv: KVNamespace = env.KEYS) {
  const environment = options.environment ?? "live";
  const { key, displayPrefix } = generateKey("sk", environment);
  const hash = await hashKey(key);
  const record: KeyRecord = {
    v: 1,
    id: randomId("key"),
    org: options.org ?? "org_acme",
    environment,
    prefix: displayPrefix,
    scopes: options.scopes === undefined ? null : options.scopes,
    status: options.status ?? "active",
    expiresAt: options.expiresAt ?? null,
    rateLimit: { limit: options.limit ?? 60, windowSeconds: options.windowSeconds ?? 60 },
    version: options.version ?? 1,
    createdAt: Date.now(),
  };
  await kv.put(kvKeyFor(hash), JSON.stringify(record));
  return { key, hash, record };
}

export function captureLogger(lines: string[]): Logger {
  return {
    info: (event, fields) => lines.push(JSON.stringify({ event, ...fields })),
    error: (event, fields) => lines.push(JSON.stringify({ event, ...fields })),
  };
}

/** A fresh Keyward app over the real local KV and Durable Objects, with every binding call counted. */
export function harness(options: HarnessOptions = {}) {
  const calls: Calls = { kvGet: 0, kvPut: 0, guard: [], origin: [] };
  const faults: GuardFault[] = [];
  const logs: string[] = [];
  const log = captureLogger(logs);
  const config = loadConfig({ ...env, ...options.vars });
  const now = options.now ?? (() => Date.now());
  const kv = countingKv(options.kv ?? env.KEYS, calls);
  const deps: KeywardDeps = {
    config,
    keys: keyIndex({ kv, cacheTtlMs: config.cacheTtlMs, cacheMaxEntries: 10_000, timeoutMs: config.kvTimeoutMs, now, log }),
    guards: guardClient({ namespace: countingGuards(env.KEY_GUARD, calls, faults), timeoutMs: config.guardTimeoutMs, log }),
    signer: contextSigner({ privateJwk: config.signingKey, issuer: config.contextIssuer, ttlSeconds: config.contextTtlSeconds, now }),
    authorize: options.authorize ? options.authorize(config) : buildAuthorizer(config, { now, log }),
    fetch: async (input, init) => {
      const request = new Request(input, init);
      calls.origin.push(request);
      return (options.origin ?? echo)(request);
    },
    now,
    log,
  };
  const app = createKeyward(deps);
  return {
    app,
    calls,
    faults,
    logs,
    config,
    deps,
    /** Sends a request through Keyward. */
    send: (path: string, init: RequestInit = {}) => app.request(`https://keyward.test${path}`, init),
    /** Sends with the key as a Bearer token. */
    call: (key: string, path = "/v1/things", init: RequestInit = {}) =>
      app.request(`https://keyward.test${path}`, { ...init, headers: { authorization: `Bearer ${key}`, ...(init.headers as Record<string, string>) } }),
  };
}

export function guardStub(keyId: string) {
  return env.KEY_GUARD.get(env.KEY_GUARD.idFromName(keyId));
}
