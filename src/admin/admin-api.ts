import { Hono } from "hono";
import type { UserTokenVerifier } from "../authz/user-token";
import type { Config } from "../config";
import { backendUnavailable, KeywardError } from "../errors";
import { type CreditOperation, MAX_CREDITS } from "../guard/credits";
import type { GuardClient } from "../guard/guard-client";
import type { GuardStatus } from "../guard/guard-types";
import type { OrgLimit } from "../guard/org-limit";
import type { KeywardEnv } from "../http/keyward-env";
import { routeTable } from "../http/route-table";
import { generateKey, hashKey, randomId } from "../keys/key-format";
import { revokedAtAsOf } from "../keys/key-model";
import { LEAK_ROUTES } from "../leaks/leak-routes";
import type { AuditAction, AuditEvent } from "../ledger/audit-log";
import { decodeCursor } from "../ledger/key-pages";
import type { LedgerKey, ListedKey } from "../ledger/key-store";
import type { DeliveryView, LedgerClient } from "../ledger/ledger-client";
import type { Logger } from "../log";
import type { KeyIndex } from "../lookup/key-index";
import { normaliseAllowList } from "../net/ip-allow-list";
import { sessionFromCookie } from "../sessions/cookie-auth";
import type { SessionClient } from "../sessions/session-client";
import { newWebhookSecret } from "../webhooks/deliver";
import { WEBHOOK_EVENTS } from "../webhooks/webhook-events";
import { checkWebhookUrl, type ResolveHost } from "../webhooks/webhook-url";
import { type Actor, authenticate, notFound, permit } from "./admin-auth";
import * as routes from "./admin-routes";
import type { KeyRevoker } from "./key-revoker";
import { iso, recordOfLedger, settingsOfLedger, view } from "./key-view";
import { whoAmI } from "./me";
import { requireMoneyGrant } from "./money-grants";
import { openApiDocument } from "./openapi";
import { sessionRoutes } from "./session-routes";
import { usageRoutes } from "./usage-routes";

export interface AdminApiOptions {
  config: Config;
  verifier: UserTokenVerifier;
  ledger: LedgerClient;
  revoker: KeyRevoker;
  /** Resolves a webhook URL's host when it is set (production refuses private addresses). */
  resolveHost: ResolveHost;
  guards: GuardClient;
  keys: KeyIndex;
  /** The console's cookie sessions (CONSOLE_SESSIONS); without it only bearer tokens authenticate. */
  sessions?: SessionClient | undefined;
  now: () => number;
  log: Logger;
}

/** The schema has checked every entry; this stores them normalised (an empty list means any address). */
function allowedIpsOf(entries: string[] | undefined): string[] | null {
  if (entries === undefined || entries.length === 0) return null;
  const normal = normaliseAllowList(entries);
  if (!normal.ok)
    throw new KeywardError("INVALID_REQUEST", `allowedIps.${normal.index}: must be an IPv4 or IPv6 address or CIDR`, { field: `allowedIps.${normal.index}` });
  return normal.list;
}
/** Key guards told of a shared org limit at a time. */
const ORG_PUSH_BATCH = 50;
/**
 * The admin API under /_keyward/v1. Writes go guard first (enforcement), then
 * the org's ledger (book of record, read-your-writes), then KV (edge index). A
 * failure part-way is reported as 503 and a retry of the same call completes it.
 */
export function adminApi(options: AdminApiOptions): Hono<KeywardEnv> {
  const app = new Hono<KeywardEnv>();
  const { ledger } = options;
  const revoker = options.revoker;

  /** The key `id` of the org; the route has checked the id's form. */
  async function findKey(org: string, id: string): Promise<ListedKey> {
    const key = await ledger.getKey(org, id);
    if (key === null) throw notFound();
    return key;
  }

  /**
   * A change to a key that must be in force (enable, disable, credits, meta, limit):
   * a revoked key (now, or by a scheduled revocation whose time has come) takes
   * none, since none could do anything, and an audit entry saying it did would be
   * false. Answered before any guard call or write, so nothing is audited.
   */
  async function changeableKey(org: string, id: string, now: number): Promise<ListedKey> {
    const key = await findKey(org, id);
    if (revokedAtAsOf(key.revokedAt, key.revokeAt, now) !== null) {
      throw new KeywardError("CONFLICT", "This key is revoked, so it cannot be enabled, disabled, given credits, limits or metadata. Create a new key.");
    }
    return key;
  }

  async function liveStatus(k: LedgerKey): Promise<GuardStatus | null> {
    // Informational only (last use, live balance): a guard that cannot answer leaves them to the ledger.
    return options.guards.status(settingsOfLedger(k)).catch(() => null);
  }

  /**
   * Undoes a create whose KV write failed: without its index entry the key could
   * never be used, so it must not be listed either. A failed undo is never
   * swallowed: it is logged, recorded in the audit log if the ledger takes the
   * note (when the ledger is down, the log line is the only record), and the
   * caller is told which key id to revoke to retire the leftover row.
   * Returns whether the undo was confirmed.
   */
  async function rollBack(org: string, keyId: string, event: (action: AuditAction, detail: Record<string, unknown>) => AuditEvent): Promise<boolean> {
    try {
      await ledger.rollBackKey(org, keyId, event("key.creation_rolled_back", { reason: "the key index (KV) write failed" }));
      return true;
    } catch {
      const note = event("key.rollback_failed", { reason: "the ledger did not confirm the rollback", remedy: "revoke this key id" });
      options.log.error("key_rollback_failed", { requestId: note.requestId, org, keyId });
      await ledger.record(org, note).catch(() => options.log.error("key_rollback_unaudited", { requestId: note.requestId, org, keyId }));
      return false;
    }
  }

  app.use(async (c, next) => {
    await next();
    c.header("Cache-Control", "no-store");
  });

  /**
   * A bearer token when the call sends one, exactly as before (and at no extra
   * cost: the session store is not asked); otherwise the console's session
   * cookie, at one RPC to the org's session store. Neither: 401.
   */
  async function authenticateCall(request: Request, renewCookie: (cookie: string) => void): Promise<Actor> {
    const authorization = request.headers.get("authorization");
    if (authorization === null && options.sessions !== undefined) {
      const found = await sessionFromCookie(request, { sessions: options.sessions, secure: options.config.environment === "production" }, options.now());
      if (found !== null) {
        if (found.setCookie !== null) renewCookie(found.setCookie);
        const s = found.session;
        return {
          kind: "user",
          subject: s.subject,
          org: found.org,
          role: s.role,
          expiresAt: Math.min(s.idleUntil, s.endsAt),
          session: { id: s.id, via: s.via, returnUrl: s.returnUrl, createdAt: s.createdAt, secret: found.secret },
        };
      }
    }
    return authenticate(authorization, options.verifier, options.config.operatorToken);
  }

  const table = routeTable<{ actor: Actor; by: string }>(app, {
    async authorize(access, c, params) {
      const actor = await authenticateCall(c.req.raw, (cookie) => c.header("Set-Cookie", cookie));
      return { actor, by: permit(access, actor, params.org ?? "") };
    },
  });

  let document: Record<string, unknown> | null = null;
  // Built on first use from every route mounted by then (this one included), and
  // the leak reports mounted beside the admin API under the same prefix.
  table.add(routes.openApiRoute, async () => (document ??= openApiDocument([...table.defs, ...LEAK_ROUTES])));

  // Any valid token may ask what it may do here; an invalid or expired one gets the usual 401.
  table.add(routes.meRoute, async (_c, { params, who }) => whoAmI(who.actor, params.org));

  table.add(routes.createKeyRoute, async (c, { params: { org }, who: { actor, by }, body }) => {
    // No org has org credits yet, so a key's credits are always the money itself.
    if (body.credits !== undefined) requireMoneyGrant(actor, "create-with-credits", false);
    const now = options.now();
    const expiresAt = body.expiresAt === undefined ? null : Date.parse(body.expiresAt);
    if (expiresAt !== null && expiresAt <= now) throw new KeywardError("INVALID_REQUEST", "expiresAt: must be in the future", { field: "expiresAt" });
    const environment = body.environment ?? "live";
    const { key, displayPrefix } = generateKey(options.config.keyTypePrefix, environment);
    const record: LedgerKey = {
      id: randomId("key"),
      hash: await hashKey(key),
      prefix: displayPrefix,
      label: body.label,
      environment,
      scopes: body.scopes ?? null,
      createdAt: now,
      createdBy: by,
      expiresAt,
      revokedAt: null,
      revokeAt: null,
      disabledAt: null,
      credits:
        body.credits === undefined
          ? null
          : {
              remaining: body.credits.remaining,
              refill: body.credits.refill
                ? {
                    interval: body.credits.refill.interval,
                    amount: body.credits.refill.amount,
                    refillDay: body.credits.refill.interval === "monthly" ? (body.credits.refill.refillDay ?? 1) : null,
                  }
                : null,
              refilledAt: now,
            },
      meta: body.meta ?? null,
      limit: options.config.defaultLimit,
      windowSeconds: options.config.defaultWindowSeconds,
      version: 1,
      kvVersion: 1,
      allowedIps: allowedIpsOf(body.allowedIps),
      leak: null,
    };
    const requestId = c.get("requestId");
    const event = (action: AuditAction, detail: Record<string, unknown>) => ({ at: now, actor: by, action, keyId: record.id, requestId, detail });
    // A shared org limit holds for a new key from its first request: its guard learns it before the key exists anywhere.
    const orgLimit = await ledger.getOrgLimit(org);
    if (orgLimit !== null) await options.guards.setOrgLimit(settingsOfLedger(record), orgLimit);
    await ledger.addKey(org, record, event("key.created", { label: record.label, environment }));
    try {
      await options.keys.put(record.hash, recordOfLedger(record, org));
    } catch {
      options.log.error("kv_write_failed", { requestId, org, keyId: record.id });
      if (await rollBack(org, record.id, event)) throw backendUnavailable("the key index (KV); no key was created");
      throw backendUnavailable(`the key index (KV); the key cannot be used, but undoing its creation failed too: revoke ${record.id} to retire it`);
    }
    options.log.info("key_created", { requestId, org, keyId: record.id, by });
    return { key, ...view(record, now, null) };
  });

  // One ledger call per page whatever the org's size; last use as the guards
  // last reported it (docs/usage.md: up to about a minute behind).
  table.add(routes.listKeysRoute, async (_c, { params: { org }, query: q }) => {
    const scope = { org, sort: q.sort, status: q.status ?? null, environment: q.environment ?? null, q: q.q || null };
    if (q.cursor !== undefined) {
      try {
        decodeCursor(q.cursor, scope);
      } catch {
        throw new KeywardError(
          "INVALID_REQUEST",
          "cursor: is not a cursor of this listing; pass nextCursor of the previous page, with the same sort, status, environment and q",
          { field: "cursor" },
        );
      }
    }
    const now = options.now();
    const page = await ledger.listKeyPage(org, { ...scope, limit: q.limit, cursor: q.cursor ?? null, now });
    return { keys: page.keys.map((k) => view(k, now, null)), nextCursor: page.nextCursor };
  });

  table.add(routes.getKeyRoute, async (_c, { params: { org, id } }) => {
    const k = await findKey(org, id);
    return view(k, options.now(), await liveStatus(k));
  });

  /** Every key of the org (of one environment), page by page: the kill switch must see them all. */
  async function everyKey(org: string, environment: "live" | "test" | null): Promise<LedgerKey[]> {
    const keys: LedgerKey[] = [];
    let cursor: string | null = null;
    do {
      const page: { keys: LedgerKey[]; nextCursor: string | null } = await ledger.listKeyPage(org, {
        org,
        limit: 1000,
        cursor,
        status: null,
        environment,
        q: null,
        sort: "created",
        now: options.now(),
      });
      keys.push(...page.keys);
      cursor = page.nextCursor;
    } while (cursor !== null);
    return keys;
  }

  // The org kill switch: every matching key, guards first. The org id typed
  // again in `confirm` guards against a slip of the wrong org or a replayed form.
  table.add(routes.revokeAllRoute, async (c, { params: { org }, who: { by }, body }) => {
    if (body.confirm !== org) {
      throw new KeywardError("INVALID_REQUEST", "confirm: must be the org id exactly, typed again; nothing was revoked", { field: "confirm" });
    }
    const createdBefore = body.createdBefore === undefined ? null : Date.parse(body.createdBefore);
    const matching = (await everyKey(org, body.environment ?? null)).filter(
      (k) => (createdBefore === null || k.createdAt < createdBefore) && (body.labelPrefix === undefined || k.label.startsWith(body.labelPrefix)),
    );
    const filters = { environment: body.environment ?? null, createdBefore: body.createdBefore ?? null, labelPrefix: body.labelPrefix ?? null };
    const result = await revoker.revokeMany(org, matching, { now: options.now(), actor: by, requestId: c.get("requestId"), detail: { killSwitch: filters } });
    options.log.info("keys_revoked_all", { requestId: c.get("requestId"), org, by, ...result });
    return result;
  });

  table.add(routes.revokeKeyRoute, async (c, { params: { org, id }, who: { by }, body }) => {
    const now = options.now();
    const at = body.at === undefined ? null : Math.max(Date.parse(body.at), now);
    const k = await revoker.revoke({ org, key: await findKey(org, id), now, at, actor: by, requestId: c.get("requestId") });
    return view(k, now, await liveStatus(k));
  });

  table.add(routes.keyRateLimitRoute, async (c, { params: { org, id }, who: { by }, body }) => {
    const now = options.now();
    let k = await changeableKey(org, id, now);
    if (k.limit !== body.limit || k.windowSeconds !== body.windowSeconds) {
      const version = k.version + 1;
      await options.guards.setLimit({ ...settingsOfLedger(k), version }, body.limit, body.windowSeconds);
      const event = {
        at: now,
        actor: by,
        action: "key.rate_limit_changed" as const,
        keyId: k.id,
        requestId: c.get("requestId"),
        detail: { from: { limit: k.limit, windowSeconds: k.windowSeconds }, to: body },
      };
      k = (await ledger.updateKey(org, k.id, { ...body, version }, event)) ?? k;
    }
    await revoker.syncKv(org, k, "The new limit is already in force.");
    return view(k, now, await liveStatus(k));
  });

  // Suspend and resume: guard first (in force for the next request), then the
  // ledger and its audit event, then KV. A revoked key is 409 and stays revoked.
  for (const [route, disabled] of [
    [routes.disableKeyRoute, true],
    [routes.enableKeyRoute, false],
  ] as const) {
    table.add(route, async (c, { params: { org, id }, who: { by } }) => {
      const now = options.now();
      let k = await changeableKey(org, id, now);
      if ((k.disabledAt !== null) !== disabled) {
        const version = k.version + 1;
        await options.guards.setDisabled({ ...settingsOfLedger(k), version }, disabled);
        const event = {
          at: now,
          actor: by,
          action: disabled ? ("key.disabled" as const) : ("key.enabled" as const),
          keyId: k.id,
          requestId: c.get("requestId"),
          detail: {},
        };
        const change = { disabledAt: disabled ? now : null, version };
        k = (await ledger.updateKey(org, k.id, change, event)) ?? k;
      }
      await revoker.syncKv(org, k, disabled ? "The key is suspended and already refused." : "The key is enabled and already admitted.");
      return view(k, now, await liveStatus(k));
    });
  }

  // Metadata: guard first, so that a gateway whose record is older learns the new
  // meta from the guard on the very next request; then the ledger, then KV.
  table.add(routes.patchKeyRoute, async (c, { params: { org, id }, who: { by }, body }) => {
    const now = options.now();
    let k = await changeableKey(org, id, now);
    const version = k.version + 1;
    await options.guards.setMeta({ ...settingsOfLedger(k), version }, body.meta);
    const event = { at: now, actor: by, action: "key.meta_changed" as const, keyId: k.id, requestId: c.get("requestId"), detail: { meta: body.meta } };
    k = (await ledger.updateKey(org, k.id, { meta: body.meta, version }, event)) ?? k;
    await revoker.syncKv(org, k, "The new metadata already reaches the origin.");
    return view(k, now, await liveStatus(k));
  });

  // Credits: the guard applies the change in order with the key's traffic (so
  // nothing is lost or counted twice) and answers the new balance; the ledger
  // and KV then take it as their snapshot. Each call is one change: a retry after
  // a failure is a second change, as with any increment.
  table.add(routes.creditsRoute, async (c, { params: { org, id }, who: { actor, by }, body }) => {
    if (body.operation !== "decrement") requireMoneyGrant(actor, body.operation, false);
    const now = options.now();
    let k = await changeableKey(org, id, now);
    const version = k.version + 1;
    const change = body.value === undefined ? { operation: body.operation } : { operation: body.operation, value: body.value };
    const result = await options.guards.adjustCredits({ ...settingsOfLedger(k), version }, change as CreditOperation);
    if (!result.ok && result.reason === "over_cap") {
      throw new KeywardError(
        "INVALID_REQUEST",
        `value: the balance would be ${result.remaining + (body.value ?? 0)}, over the most a key may hold (${MAX_CREDITS}); it stays ${result.remaining}`,
        { field: "value" },
      );
    }
    if (!result.ok) {
      throw new KeywardError("INVALID_REQUEST", `operation: this key is unlimited; use "set" with a value to give it credits`, { field: "operation" });
    }
    const credits = result.status.credits;
    const snapshot = credits === null ? null : { remaining: credits.remaining, refill: credits.refill, refilledAt: credits.refilledAt };
    const event = {
      at: now,
      actor: by,
      action: "key.credits_changed" as const,
      keyId: k.id,
      requestId: c.get("requestId"),
      detail: { ...body, to: snapshot === null ? "unlimited" : snapshot.remaining },
    };
    k = (await ledger.updateKey(org, k.id, { credits: snapshot, version }, event)) ?? k;
    await revoker.syncKv(org, k, "The new balance is already in force.");
    return view(k, now, result.status);
  });

  // The org's event webhook (docs/webhooks.md). Admins only: the secret and the
  // receiver decide where the org's key events go.
  table.add(routes.putWebhookRoute, async (_c, { params: { org }, body }) => {
    const verdict = await checkWebhookUrl(body.url, { production: options.config.environment === "production", resolve: options.resolveHost });
    if (!verdict.ok) {
      if ("unavailable" in verdict) throw backendUnavailable("the DNS resolver (to check the webhook URL)", 5);
      throw new KeywardError("INVALID_REQUEST", `url: ${verdict.problem}`, { field: "url" });
    }
    const config = { org, url: verdict.url, events: body.events ?? [...WEBHOOK_EVENTS], secret: newWebhookSecret(), createdAt: options.now() };
    await ledger.setWebhook(org, config);
    return { url: config.url, events: config.events, createdAt: iso(config.createdAt) as string, secret: config.secret };
  });

  table.add(routes.getWebhookRoute, async (_c, { params: { org } }) => {
    const hook = await ledger.getWebhook(org);
    if (hook === null) throw new KeywardError("NOT_FOUND", "This organisation has no webhook; PUT one.");
    return { url: hook.url, events: hook.events, createdAt: iso(hook.createdAt) as string };
  });

  table.add(routes.deleteWebhookRoute, async (_c, { params: { org } }) => {
    if (!(await ledger.removeWebhook(org))) throw new KeywardError("NOT_FOUND", "This organisation has no webhook.");
    return null;
  });

  const deliveryView = (d: DeliveryView) => ({
    id: d.id,
    type: d.type,
    status: d.status,
    attempts: d.attempts,
    createdAt: iso(d.createdAt) as string,
    lastAttemptAt: iso(d.lastAttemptAt),
    lastStatus: d.lastStatus,
    lastError: d.lastError,
    nextAttemptAt: d.status === "pending" ? iso(d.nextAt) : null,
  });

  table.add(routes.deliveriesRoute, async (_c, { params: { org } }) => ({ deliveries: (await ledger.deliveries(org)).map(deliveryView) }));

  table.add(routes.redeliverRoute, async (_c, { params: { org, id } }) => {
    const d = await ledger.redeliver(org, id);
    if (d === null) throw new KeywardError("NOT_FOUND", "No such delivery for this organisation.");
    return deliveryView(d);
  });

  // The org's shared rate limit (operator). The ledger records it first, so keys
  // created from now on get it; then every unrevoked key's guard is told, before
  // the call returns. A failure part-way is a 503; repeating the call completes it.
  async function pushOrgLimit(org: string, limit: OrgLimit | null): Promise<number> {
    const keys = (await everyKey(org, null)).filter((k) => k.revokedAt === null);
    for (let i = 0; i < keys.length; i += ORG_PUSH_BATCH) {
      const batch = keys.slice(i, i + ORG_PUSH_BATCH);
      const results = await Promise.allSettled(batch.map((k) => options.guards.setOrgLimit(settingsOfLedger(k), limit)));
      const failed = results.filter((r) => r.status === "rejected").length;
      if (failed > 0) {
        throw new KeywardError(
          "AUTH_BACKEND_UNAVAILABLE",
          `${failed} of the org's key guards could not be told the shared limit: repeat this call to complete it.`,
          {
            headers: { "Retry-After": "1" },
          },
        );
      }
    }
    return keys.length;
  }

  table.add(routes.putOrgLimitRoute, async (c, { params: { org }, who: { by }, body }) => {
    const current = await ledger.getOrgLimit(org);
    const same = current !== null && current.limit === body.limit && current.windowSeconds === body.windowSeconds;
    const limit: OrgLimit = same ? current : { org, ...body, version: (current?.version ?? 0) + 1 };
    if (!same) {
      const event = {
        at: options.now(),
        actor: by,
        action: "org.rate_limit_set" as const,
        keyId: "*",
        requestId: c.get("requestId"),
        detail: { from: current, to: body },
      };
      await ledger.setOrgLimit(org, limit, event);
    }
    const keys = await pushOrgLimit(org, limit);
    return { limit: limit.limit, windowSeconds: limit.windowSeconds, keys };
  });

  table.add(routes.deleteOrgLimitRoute, async (c, { params: { org }, who: { by } }) => {
    const current = await ledger.getOrgLimit(org);
    if (current !== null) {
      const event = {
        at: options.now(),
        actor: by,
        action: "org.rate_limit_cleared" as const,
        keyId: "*",
        requestId: c.get("requestId"),
        detail: { from: current },
      };
      await ledger.setOrgLimit(org, null, event);
    }
    const keys = await pushOrgLimit(org, null);
    return { limit: null, keys };
  });

  table.add(routes.getOrgLimitRoute, async (_c, { params: { org } }) => {
    const current = await ledger.getOrgLimit(org);
    if (current === null) throw new KeywardError("NOT_FOUND", "This organisation has no shared rate limit; its keys have their own limits only.");
    return { limit: current.limit, windowSeconds: current.windowSeconds };
  });

  table.add(routes.auditRoute, async (_c, { params: { org } }) => {
    const events = await ledger.audit(org);
    return { events: events.map((e) => ({ ...e, at: iso(e.at) as string })) };
  });

  usageRoutes(table, { ledger, guards: options.guards, now: options.now, findKey });
  // Read per call: the route tests mount this API without any services.
  sessionRoutes(table, { sessions: () => options.sessions, production: () => options.config.environment === "production", now: () => options.now() });

  // A known path with another method: 405 with Allow, and nothing changes.
  table.close();
  app.all("*", (c) => {
    throw new KeywardError("NOT_FOUND", `${c.req.method} ${new URL(c.req.url).pathname} is not an admin route; see /_keyward/v1/openapi.json.`);
  });
  return app;
}
