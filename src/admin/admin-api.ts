import { type Context, Hono } from "hono";
import type { UserTokenVerifier } from "../authz/user-token";
import type { Config } from "../config";
import { backendUnavailable, KeywardError } from "../errors";
import type { GuardClient } from "../guard/guard-client";
import type { GuardStatus } from "../guard/guard-types";
import type { KeywardEnv } from "../http/keyward-env";
import { routeTable } from "../http/route-table";
import { revokedAtAsOf } from "../keys/key-model";
import { LEAK_ROUTES } from "../leaks/leak-routes";
import { type AuditAction, type AuditContext, type AuditEvent, auditEvent } from "../ledger/audit-log";
import { decodeAuditCursor } from "../ledger/audit-pages";
import { decodeCursor } from "../ledger/key-pages";
import type { LedgerKey, ListedKey } from "../ledger/key-store";
import type { LedgerClient } from "../ledger/ledger-client";
import type { Logger } from "../log";
import type { KeyIndex } from "../lookup/key-index";
import { sessionFromCookie } from "../sessions/cookie-auth";
import type { SessionClient } from "../sessions/session-client";
import type { ResolveHost } from "../webhooks/webhook-url";
import { type Actor, authenticate, notFound, permit } from "./admin-auth";
import * as routes from "./admin-routes";
import { everyKey } from "./every-key";
import { keyChanger } from "./key-change";
import type { KeyRevoker } from "./key-revoker";
import { keySettingRoutes } from "./key-setting-routes";
import { iso, recordOfLedger, settingsOfLedger, view } from "./key-view";
import { whoAmI } from "./me";
import { requireMoneyGrant } from "./money-grants";
import { newKey } from "./new-key";
import { openApiDocument } from "./openapi";
import { orgCreditsRoutes, orgHasCredits } from "./org-credits-routes";
import { orgLimitRoutes } from "./org-limit-routes";
import { rollRoute } from "./roll-route";
import { sessionRoutes } from "./session-routes";
import { usageRoutes } from "./usage-routes";
import { webhookRoutes } from "./webhook-routes";

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

  const changeKey = keyChanger({ ledger, revoker });
  /** Who makes this call, for its audit entries. */
  const whoOf = (c: Context<KeywardEnv>, by: string, at: number): AuditContext => ({ at, actor: by, requestId: c.get("requestId") });

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
      await ledger.recordAudit(org, note).catch(() => options.log.error("key_rollback_unaudited", { requestId: note.requestId, org, keyId }));
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
    // Without org credits a key's credits are the money itself (money-grants.ts).
    const orgCredits = await orgHasCredits(options.guards, org);
    if (body.credits !== undefined) requireMoneyGrant(actor, "create-with-credits", orgCredits);
    const now = options.now();
    const { key, record } = await newKey(body, { now, by, config: options.config });
    const requestId = c.get("requestId");
    const event = (action: AuditAction, detail: Record<string, unknown>) => auditEvent(whoOf(c, by, now), action, record.id, detail);
    // A shared org limit holds for a new key from its first request: its guard learns it before the key exists anywhere.
    const orgLimit = await ledger.getOrgLimit(org);
    if (orgLimit !== null) await options.guards.setOrgLimit(settingsOfLedger(record), orgLimit);
    // Org credits too: every admission of the new key spends from them from its first request.
    if (orgCredits) await options.guards.setOrgCredits(settingsOfLedger(record), org);
    await ledger.addKey(org, record, event("key.created", { label: record.label, environment: record.environment }));
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

  // The org kill switch: every matching key, guards first. The org id typed
  // again in `confirm` guards against a slip of the wrong org or a replayed form.
  table.add(routes.revokeAllRoute, async (c, { params: { org }, who: { by }, body }) => {
    if (body.dryRun !== true && body.confirm !== org) {
      throw new KeywardError("INVALID_REQUEST", "confirm: must be the org id exactly, typed again; nothing was revoked", { field: "confirm" });
    }
    const createdBefore = body.createdBefore === undefined ? null : Date.parse(body.createdBefore);
    const matching = (await everyKey(ledger, org, body.environment ?? null, options.now)).filter(
      (k) => (createdBefore === null || k.createdAt < createdBefore) && (body.labelPrefix === undefined || k.label.startsWith(body.labelPrefix)),
    );
    if (body.dryRun === true) {
      // What the same call would do, counted as revokeMany counts: a key already revoked (or due) is not revoked again.
      const now = options.now();
      const already = matching.filter((k) => revokedAtAsOf(k.revokedAt, k.revokeAt, now) !== null).length;
      return { revoked: matching.length - already, alreadyRevoked: already, dryRun: true };
    }
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

  // A live key's settings: limits, suspend and resume, label and metadata, credits (key-setting-routes.ts).
  keySettingRoutes(table, { ledger, guards: options.guards, now: options.now, changeableKey, liveStatus, changeKey, whoOf });

  webhookRoutes(table, { ledger, resolveHost: options.resolveHost, production: () => options.config.environment === "production", now: options.now });

  orgLimitRoutes(table, { ledger, guards: options.guards, now: options.now });
  orgCreditsRoutes(table, { ledger, guards: options.guards, now: options.now });

  // One page of the log, like the key list: a cursor bound to the org and the filters.
  table.add(routes.auditRoute, async (_c, { params: { org }, query: q }) => {
    const scope = {
      org,
      keyId: q.key ?? null,
      action: q.action ?? null,
      actor: q.actor ?? null,
      since: q.since === undefined ? null : Date.parse(q.since),
      until: q.until === undefined ? null : Date.parse(q.until),
    };
    if (q.cursor !== undefined) {
      try {
        decodeAuditCursor(q.cursor, scope);
      } catch {
        throw new KeywardError("INVALID_REQUEST", "cursor: is not a cursor of this audit log; pass nextCursor of the previous page, with the same filters", {
          field: "cursor",
        });
      }
    }
    const page = await ledger.auditPage(org, { ...scope, limit: q.limit, cursor: q.cursor ?? null });
    return { events: page.events.map((e) => ({ ...e, at: iso(e.at) as string })), nextCursor: page.nextCursor };
  });

  // Read per call: the route tests mount this API without any services.
  rollRoute(table, {
    get ledger() {
      return options.ledger;
    },
    get guards() {
      return options.guards;
    },
    get keys() {
      return options.keys;
    },
    keyTypePrefix: () => options.config.keyTypePrefix,
    changeableKey,
    now: () => options.now(),
    get log() {
      return options.log;
    },
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
