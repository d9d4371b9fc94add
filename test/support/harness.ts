import { env } from "cloudflare:workers";
import * as adminRoutes from "../../src/admin/admin-routes";
import { createKeyward } from "../../src/app";
import { compilePolicy } from "../../src/authz/policy";
import { loadConfig } from "../../src/config";
import type { KeyGuard } from "../../src/guard/key-guard";
import type { RouteConfig } from "../../src/http/route-def";
import { generateKey, hashKey, type KeyEnvironment, randomId } from "../../src/keys/key-format";
import { LEAK_ROUTES } from "../../src/leaks/leak-routes";
import type { OrgLedger } from "../../src/ledger/org-ledger";
import type { Logger } from "../../src/log";
import { type KeyRecord, kvKeyFor } from "../../src/lookup/key-record";
import type { BoundTimer } from "../../src/proxy/websocket-bound";
import { countingKv, interceptNamespace, type KvCounts } from "../../test-support/counting";

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
  /** KV calls by kind (get, put, delete, list). */
  kv: KvCounts;
  guard: string[];
  /** Requests that reached the origin over the network (by URL). */
  origin: Request[];
  /** Requests that reached the origin through its service binding. */
  service: Request[];
  /** RPCs to the console's session store (ConsoleSessions), by method. */
  sessions: string[];
}

export interface HarnessOptions {
  vars?: Record<string, unknown>;
  origin?: (request: Request) => Response | Promise<Response>;
  kv?: KVNamespace;
  ledgers?: DurableObjectNamespace<OrgLedger>;
  /** A route policy file's content. */
  policy?: unknown;
  jwksFetch?: typeof fetch;
  /** A fleet analytics dataset (USAGE_ANALYTICS); none by default. */
  analytics?: AnalyticsEngineDataset;
  /** Serves GitHub's secret scanning keys document (default: no network, fails). */
  secretScanningFetch?: typeof fetch;
  now?: () => number;
  /** Starts a WebSocket's closing timer (default: setTimeout); a test passes one it fires itself. */
  websocketTimer?: BoundTimer;
  /** The origin as a service binding (ORIGIN); calls to it are counted in `calls.service`. */
  originService?: Fetcher;
}

/** The demo origin's answer: what it received. */
export async function echo(request: Request): Promise<Response> {
  const url = new URL(request.url);
  return Response.json({ method: request.method, path: url.pathname + url.search, headers: Object.fromEntries(request.headers) });
}

function countingGuards(real: DurableObjectNamespace<KeyGuard>, calls: Calls, faults: GuardFault[]): DurableObjectNamespace<KeyGuard> {
  return interceptNamespace(real, async (method, _args, call) => {
    calls.guard.push(method);
    const fault = faults.shift();
    if (fault?.hang) return new Promise(() => {});
    if (fault && !fault.afterCall) throw Object.assign(new Error("injected guard fault"), fault);
    const result = await call();
    if (fault) throw Object.assign(new Error("injected guard fault after the call"), fault);
    return result;
  });
}

/** A Durable Object namespace whose stubs record each RPC's method name in `log`. */
function loggingNamespace<T extends Rpc.DurableObjectBranded | undefined>(real: DurableObjectNamespace<T>, log: string[]): DurableObjectNamespace<T> {
  return interceptNamespace(real, (method, _args, call) => {
    log.push(method);
    return call();
  });
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
  allowedIps?: string[];
  /** "local": admitted from leases near the caller (src/guard/lease-holder.ts). */
  admission?: "local";
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
    rateLimit: { limit: options.limit ?? 60, windowSeconds: options.windowSeconds ?? 60, ...(options.admission ? { admission: options.admission } : {}) },
    version: options.version ?? 1,
    createdAt: Date.now(),
    ...(options.allowedIps ? { allowedIps: options.allowedIps } : {}),
  };
  await kv.put(kvKeyFor(hash), JSON.stringify(record));
  return { key, hash, record };
}

/** Every route under /_keyward/v1, with a matcher for its path. */
const ROUTES = [...(Object.values(adminRoutes) as RouteConfig[]), ...LEAK_ROUTES].map((def) => ({
  def,
  pattern: new RegExp(`^/_keyward/v1${def.path.replace(/:[A-Za-z]+/g, "[^/]+")}$`),
  // A literal segment is more specific than a parameter: /keys/revoke-all before /keys/:id.
  literals: def.path.split("/").filter((p) => p !== "" && !p.startsWith(":")).length,
}));

/**
 * Checks a 2xx answer of the admin API against its route's reply schema, at run
 * time: every admin call any test sends through the harness is checked, so a
 * handler cannot answer what its definition (and the OpenAPI document) does not say.
 */
async function checkReply(method: string, path: string, res: Response): Promise<void> {
  if (res.status < 200 || res.status > 299 || !path.startsWith("/_keyward/v1/")) return;
  const route = ROUTES.filter((r) => r.def.method === method.toLowerCase() && r.pattern.test(path)).sort((a, b) => b.literals - a.literals)[0];
  if (route === undefined) return;
  const where = `${method} ${route.def.path}`;
  if (res.status !== route.def.reply.status) throw new Error(`${where} answered ${res.status}; its definition says ${route.def.reply.status}`);
  if (route.def.reply.schema === undefined) return;
  const parsed = route.def.reply.schema.safeParse(await res.clone().json());
  if (!parsed.success) throw new Error(`${where}: the reply does not match its schema: ${parsed.error.message}`);
}

export function captureLogger(lines: string[]): Logger {
  return {
    info: (event, fields) => lines.push(JSON.stringify({ event, ...fields })),
    error: (event, fields) => lines.push(JSON.stringify({ event, ...fields })),
  };
}

/** A fresh Keyward app over the real local KV and Durable Objects, with every binding call counted. */
export function harness(options: HarnessOptions = {}) {
  const calls: Calls = { kv: { get: 0, put: 0, delete: 0, list: 0 }, guard: [], origin: [], service: [], sessions: [] };
  const faults: GuardFault[] = [];
  const logs: string[] = [];
  const service = options.originService;
  const config = loadConfig({ ...env, ...(service ? { ORIGIN: service } : {}), ...options.vars });
  const app = createKeyward({
    config,
    kv: countingKv(options.kv ?? env.KEYS, calls.kv),
    guards: countingGuards(env.KEY_GUARD, calls, faults),
    holders: env.LEASE_HOLDER,
    ledgers: options.ledgers ?? env.ORG_LEDGER,
    sessions: env.CONSOLE_SESSIONS ? loggingNamespace(env.CONSOLE_SESSIONS, calls.sessions) : undefined,
    policy: options.policy === undefined || options.policy === null ? null : compilePolicy(options.policy),
    fetch: async (input, init) => {
      const request = new Request(input, init);
      calls.origin.push(request);
      return (options.origin ?? echo)(request);
    },
    ...(service
      ? {
          originService: {
            fetch: (input: RequestInfo | URL, init?: RequestInit) => {
              const request = new Request(input, init);
              calls.service.push(request.clone());
              return service.fetch(request);
            },
          },
        }
      : {}),
    jwksFetch: options.jwksFetch ?? (() => Promise.reject(new Error("no JWKS in this test"))),
    websocketTimer: options.websocketTimer,
    secretScanningFetch: options.secretScanningFetch ?? (() => Promise.reject(new Error("no keys document in this test"))),
    analytics: options.analytics,
    now: options.now ?? (() => Date.now()),
    log: captureLogger(logs),
  });
  // Work a handler leaves for after its response (ctx.waitUntil), awaited by settle().
  const deferred: Promise<unknown>[] = [];
  const ctx = { waitUntil: (p: Promise<unknown>) => void deferred.push(p), passThroughOnException: () => {}, props: {} } as unknown as ExecutionContext;
  return {
    app,
    calls,
    /** Waits for everything handed to waitUntil so far. */
    settle: async () => {
      while (deferred.length > 0) await Promise.all(deferred.splice(0));
    },
    faults,
    logs,
    config,
    /** Sends a request through Keyward. */
    send: async (path: string, init: RequestInit = {}): Promise<Response> => {
      const res = await app.request(`https://keyward.test${path}`, init, undefined, ctx);
      await checkReply(init.method ?? "GET", new URL(path, "https://keyward.test").pathname, res);
      return res;
    },
    /** Sends with the key as a Bearer token. */
    call: async (key: string, path = "/v1/things", init: RequestInit = {}): Promise<Response> =>
      app.request(
        `https://keyward.test${path}`,
        { ...init, headers: { authorization: `Bearer ${key}`, ...(init.headers as Record<string, string>) } },
        undefined,
        ctx,
      ),
  };
}

export function guardStub(keyId: string) {
  return env.KEY_GUARD.get(env.KEY_GUARD.idFromName(keyId));
}
