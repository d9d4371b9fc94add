import type { Metering } from "./authz/policy";
import type { Config } from "./config";
import { readCredentials } from "./credentials";
import { KeywardError } from "./errors";
import type { GuardClient } from "./guard/guard-client";
import { secretTag } from "./guard/key-secrets";
import { localAdmissionAt } from "./guard/lease-location";
import { orgLimitHeaders, quotaHeaders, rateLimitHeaders, retryAfterSeconds } from "./http/rate-limit-headers";
import type { ContextSigner } from "./identity/context-token";
import { encodeHeaderValue } from "./identity/identity-headers";
import { type KeyMeta, metaHeader } from "./identity/key-meta";
import { hashKey, type ParsedKey } from "./keys/key-format";
import { isRevokedAt, settingsOf } from "./keys/key-model";
import type { Logger } from "./log";
import type { KeyIndex } from "./lookup/key-index";
import type { KeyRecord } from "./lookup/key-record";
import { CHARGE_HEADER, type Settlement, settlementOf } from "./metering/charge-header";
import { ipAllowed } from "./net/ip-allow-list";
import { forward, originHeaders, originTarget } from "./proxy/forward";
import { originRoutes } from "./proxy/origin-route";
import { type BoundTimer, boundWebSocket } from "./proxy/websocket-bound";
import { RequestDeadlines } from "./timeout";
import { describeCaller } from "./usage/caller";
import type { RequestFacts } from "./usage/fleet-analytics";
import { refusalNotes } from "./usage/refusal-notes";

/** Who is acting, once the key (and any user token) has been judged. */
export interface Grant {
  user: string | null;
  /** Effective permissions; null when no user token narrowed the key's scopes. */
  permissions: string[] | null;
  /** Credits this request spends if admitted: the route policy's cost (default 1). */
  cost: number;
  /** A metered route's hold and settlement (docs/metering.md); null: the route spends `cost`. */
  metering: Metering | null;
}

/**
 * Decides whether the user token (if any) and the route policy allow this request.
 * Throws a 401/403 KeywardError to deny, or a 503 when it cannot verify.
 */
export type Authorizer = (input: { request: Request; url: URL; record: KeyRecord; userToken: string | null }) => Promise<Grant>;

export interface GatewayOptions {
  config: Config;
  parseKey: (candidate: string) => ParsedKey;
  keys: KeyIndex;
  guards: GuardClient;
  signer: ContextSigner;
  authorize: Authorizer;
  /** Reaches the origin by URL; globalThis.fetch in production, a counting fake in tests. */
  fetch: typeof fetch;
  /** The origin Worker bound as the ORIGIN service, if any: used instead of `fetch` (src/proxy/origin-route.ts). */
  originService?: { fetch: typeof fetch } | undefined;
  /** Starts a WebSocket's closing timer (src/proxy/websocket-bound.ts); default: setTimeout. */
  websocketTimer?: BoundTimer | undefined;
  now: () => number;
  log: Logger;
}

const revoked = () => new KeywardError("KEY_REVOKED", "This API key has been revoked. Ask your organisation's admin for a new key.");

/**
 * The request path: credentials -> key format -> KV record -> user token and
 * policy (judged, not yet answered) -> the key's guard (one RPC: revoked?
 * expired? over the limit?) -> origin.
 *
 * Order of answers (docs/contract.md, "The order of checks"): malformed and unknown keys first, with no guard call;
 * then KEY_REVOKED, KEY_EXPIRED and KEY_DISABLED before any permission or
 * rate-limit answer. A request that is
 * refused for its user token or permissions still asks the guard (revocation
 * comes first) but with consume=false, so it takes no quota.
 */
export function gateway(options: GatewayOptions) {
  const { config } = options;
  // Where each environment's requests go, and the path prefix the origin sees
  // (worked out once: the context token is bound to the path the origin receives).
  const origins = originRoutes(config, { fetch: options.fetch, service: options.originService });
  const noteRefusal = refusalNotes({ guards: options.guards, now: options.now, log: options.log });
  /**
   * `defer` takes work that must not hold the client's response (waitUntil in
   * the Worker); without it the promise simply runs on.
   */
  return async function handleGatewayRequest(
    request: Request,
    requestId: string,
    defer?: (work: Promise<unknown>) => void,
    facts?: RequestFacts,
  ): Promise<Response> {
    const credentials = readCredentials(request.headers, { apiKeyHeader: config.apiKeyHeader });
    const parsed = options.parseKey(credentials.apiKey);
    if (!parsed.ok) {
      throw new KeywardError(
        "INVALID_API_KEY",
        parsed.reason === "checksum"
          ? "This API key fails its checksum: it looks mistyped or truncated. Copy the whole key again."
          : `This is not an API key in Keyward's format (${config.keyTypePrefix}_live_ or ${config.keyTypePrefix}_test_ followed by 40 lowercase hex characters).`,
        { bearerError: "invalid_token" },
      );
    }
    const hash = await hashKey(parsed.key);
    const record = await options.keys.get(hash);
    if (record === null) {
      throw new KeywardError("INVALID_API_KEY", "This API key is not known. Check that you use a key of this deployment.", { bearerError: "invalid_token" });
    }
    if (facts) {
      facts.org = record.org;
      facts.keyId = record.id;
      facts.environment = record.environment;
    }
    // Known keys are counted per key (docs/usage.md); the caller's place is read only when counting is on.
    const caller = config.usageCounting ? describeCaller(request, config.environment === "development") : null;
    // Revocation only goes one way, so a record that already says revoked (or
    // whose scheduled revocation has passed) is final: no need to ask the guard.
    // It is still counted, in batches and off the client's path (revoked_key_used).
    // A secret replaced by a roll is final the same way once its grace has ended.
    const now = options.now();
    if (isRevokedAt(record.status === "revoked", record.revokeAt, now) || (record.secretValidUntil !== undefined && now >= record.secretValidUntil)) {
      const noted = config.usageCounting ? noteRefusal({ org: record.org, settings: settingsOf(record), code: "KEY_REVOKED", caller }) : null;
      if (noted !== null) defer?.(noted);
      throw revoked();
    }

    const url = new URL(request.url);
    let grant: Grant | null = null;
    let denial: KeywardError | null = null;
    // IP allow-list, from the record already in hand (no extra read): judged on
    // CF-Connecting-IP only, which Cloudflare sets; X-Forwarded-For, X-Real-IP and
    // Forwarded are written by the client and are never trusted. No address with a
    // non-empty list refuses. Like a permission denial it is answered after the
    // guard, so a revoked key still says KEY_REVOKED, and it takes no quota.
    if (record.allowedIps !== undefined && record.allowedIps.length > 0 && !ipAllowed(record.allowedIps, request.headers.get("cf-connecting-ip"))) {
      denial = new KeywardError("IP_NOT_ALLOWED", "This API key may not be used from this address. Its allowed addresses are set when the key is created.");
    } else {
      try {
        grant = await options.authorize({ request, url, record, userToken: credentials.userToken });
      } catch (error) {
        if (!(error instanceof KeywardError) || error.status >= 500) throw error;
        denial = error;
      }
    }

    // One timer for the request's deadlines, the guard's and then the origin's:
    // forward() clears it, and so does any answer other than admitted. (Should
    // anything in between throw, the timer fires once later and finds nothing to do.)
    const deadlines = new RequestDeadlines();
    // A request refused for its user token or permissions tells the guard its code, so that it is counted.
    const check = {
      requestId,
      consume: denial === null,
      cost: grant?.cost ?? 1,
      ...(grant?.metering ? { hold: { reserve: grant.metering.reserve, holdMs: grant.metering.holdSeconds * 1000 } } : {}),
      settings: settingsOf(record),
      org: record.org,
      // Which of the key's secrets this is (a rolled key's guard refuses a replaced one after its grace): from the hash already computed.
      secret: secretTag(hash),
      ...(denial !== null ? { refusal: denial.code } : {}),
      ...(caller !== null ? { caller } : {}),
    };
    // A key in local admission: the lease holder of the caller's location decides (no ocean crossing).
    const location = denial === null ? localAdmissionAt(request, record, grant, config.environment === "development") : null;
    const verdict = await (location === null ? options.guards.check(check, deadlines) : options.guards.checkLocal({ ...check, location }, deadlines)).catch(
      (error: unknown) => {
        deadlines.clear();
        throw error;
      },
    );
    if (verdict.kind !== "admitted") deadlines.clear();
    switch (verdict.kind) {
      case "revoked":
        throw revoked();
      case "expired":
        throw new KeywardError("KEY_EXPIRED", "This API key has expired. Ask your organisation's admin for a new key.");
      case "disabled":
        // The guard's word, not KV's: a stale record can neither disable nor re-enable a key.
        throw new KeywardError("KEY_DISABLED", "This API key is suspended. Ask your organisation's admin to enable it again.");
      case "limited": {
        const retryAfter = retryAfterSeconds(verdict.retryAfterMs);
        // Which limit: the key's own, or the org's shared one (named "org" in the headers).
        const org = verdict.scope === "org";
        const name = org ? "org" : (verdict.name ?? "default");
        const headers = org
          ? orgLimitHeaders(verdict.limit, verdict.windowSeconds, retryAfter)
          : rateLimitHeaders({ ...verdict, name, remaining: 0, resetMs: verdict.retryAfterMs }, options.now());
        throw new KeywardError(
          "RATE_LIMITED",
          org
            ? `This organisation's keys together reached the organisation's shared limit of ${verdict.limit} requests in ${verdict.windowSeconds} s (this key is within its own limit). Retry after ${retryAfter} s.`
            : verdict.unit === "charge"
              ? `This key's window "${name}" allows ${verdict.limit} charged units in ${verdict.windowSeconds} s, and this request's hold does not fit. Retry after ${retryAfter} s.`
              : `This key made more than ${verdict.limit} requests in ${verdict.windowSeconds} s (the key's window "${name}"). Retry after ${retryAfter} s.`,
          { headers: { "Retry-After": String(retryAfter), ...headers }, limit: name },
        );
      }
      case "exhausted": {
        // Out of credits: refused before the window, so it takes no window quota either.
        const now = options.now();
        const refill =
          verdict.nextRefillAt === null
            ? "It has no refill: ask your organisation's admin for more."
            : `It is refilled to ${verdict.refillAmount} at ${new Date(verdict.nextRefillAt).toISOString()}.`;
        const whose = verdict.scope === "org" ? "This organisation" : "This key";
        throw new KeywardError("QUOTA_EXCEEDED", `${whose} has ${verdict.remaining} credits left and this request costs ${verdict.cost}. ${refill}`, {
          headers: {
            ...(verdict.nextRefillAt === null ? {} : { "Retry-After": String(retryAfterSeconds(verdict.nextRefillAt - now)) }),
            ...quotaHeaders(verdict, now),
          },
        });
      }
      case "usable":
        throw denial ?? new Error("guard answered usable to a consuming check");
      case "admitted":
        break;
    }
    if (denial !== null || grant === null) throw denial ?? new Error("no grant");

    const identity: Record<string, string> = {
      "x-keyward-org": record.org,
      "x-keyward-key-id": record.id,
      "x-keyward-environment": record.environment,
      "x-keyward-request-id": requestId,
    };
    // Non-ASCII subjects travel percent-encoded (docs/security.md); the context token holds the exact value.
    if (grant.user !== null) identity["x-keyward-user"] = encodeHeaderValue(grant.user);
    if (grant.user !== null && grant.permissions !== null) identity["x-keyward-permissions"] = grant.permissions.join(" ");
    const creditsRemaining = verdict.credits?.remaining ?? null;
    if (creditsRemaining !== null) identity["x-keyward-credits-remaining"] = String(creditsRemaining);
    // The guard's meta when our record is older than its state (a PATCH not yet in KV or this isolate's cache).
    const meta = verdict.metaJson !== undefined ? (JSON.parse(verdict.metaJson) as KeyMeta | null) : (record.meta ?? null);
    if (meta !== null) identity["x-keyward-meta"] = metaHeader(meta);

    const origin = origins[record.environment];
    const target = originTarget(origin.base, url);
    identity["x-keyward-context"] = await options.signer.sign({
      org: record.org,
      keyId: record.id,
      environment: record.environment,
      requestId,
      method: request.method,
      path: origin.path + url.pathname,
      query: url.search.slice(1),
      user: grant.user,
      permissions: grant.user !== null ? grant.permissions : null,
      creditsRemaining,
      meta,
    });

    const metering = grant.metering;
    let response: Response;
    try {
      response = await forward(request, target, originHeaders(request.headers, credentials.consumed, identity), {
        fetch: origin.fetch,
        timeoutMs: config.originTimeoutMs,
        deadlines,
      });
    } catch (error) {
      if (metering !== null) settleLater(record.id, requestId, settlementOf(metering, { failed: true }));
      throw error;
    }
    // An accepted upgrade is relayed, and closed at the bound: the key is judged only here (src/proxy/websocket-bound.ts).
    const out = response.webSocket ? boundWebSocket(response, config.websocketMaxMs, options.websocketTimer) : new Response(response.body, response);
    // Keyward-Charge is the origin's word to Keyward, never the client's to read (docs/metering.md).
    const charge = out.headers.get(CHARGE_HEADER);
    if (charge !== null) out.headers.delete(CHARGE_HEADER);
    if (metering !== null) settleLater(record.id, requestId, settlementOf(metering, { status: response.status, charge }));
    for (const [name, value] of Object.entries(rateLimitHeaders(verdict, options.now()))) out.headers.set(name, value);
    return out;

    /**
     * Tells the key's guard what a metered request cost, off the client's path:
     * the client never waits for it. Should the guard not be told (it failed),
     * the hold expires and is charged its reserve; the origin may still settle
     * it with POST /_keyward/v1/settle until then.
     */
    function settleLater(keyId: string, id: string, settlement: Settlement): void {
      if (settlement.kind === "open") return;
      if (settlement.malformed) options.log.error("malformed_charge_header", { requestId: id, keyId });
      // No promise to wait on: nothing of it runs in this request, unless it holds the key's timer (keepAlive).
      options.guards.settleFromHeader(keyId, id, settlement.charge, {
        keepAlive: defer,
        failed: () => options.log.error("settle_failed", { requestId: id, keyId }),
      });
    }
  };
}
