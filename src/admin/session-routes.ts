import { KeywardError } from "../errors";
import type { RouteTable } from "../http/route-table";
import type { SessionRecord } from "../sessions/console-sessions";
import type { SessionClient } from "../sessions/session-client";
import { clearedCookie } from "../sessions/session-cookie";
import { expiresAt } from "../sessions/session-policy";
import { csrfToken } from "../sessions/session-secrets";
import type { Actor } from "./admin-auth";
import { createPortalSessionRoute, currentSessionRoute, endSessionRoute, listSessionsRoute, signOutRoute } from "./admin-routes";
import { iso } from "./key-view";

export interface SessionRoutesOptions {
  /** Absent when the CONSOLE_SESSIONS binding is not configured: these routes then answer 503. */
  sessions: () => SessionClient | undefined;
  /** Plain-http return URLs and insecure cookies are for development only. */
  production: () => boolean;
  now: () => number;
}

/** Where a portal link opens the console (console/portal-pages.ts serves it). */
export const PORTAL_PATH = "/_keyward/console/portal";

const isoOf = (ms: number) => iso(ms) as string;

function noSession(): KeywardError {
  return new KeywardError("NOT_FOUND", "This call carries no console session: it was made with a bearer token, which has no session to show or end.");
}

/** The console's sessions: minting portal links (operator), the caller's own session, and an org's open sessions (admins). */
export function sessionRoutes(table: RouteTable<{ actor: Actor; by: string }>, options: SessionRoutesOptions): void {
  const store = (): SessionClient => {
    const sessions = options.sessions();
    if (sessions === undefined) {
      throw new KeywardError(
        "AUTH_BACKEND_UNAVAILABLE",
        "Console sessions are not configured on this deployment: bind the CONSOLE_SESSIONS Durable Object (see wrangler.toml).",
        {
          headers: { "Retry-After": "60" },
        },
      );
    }
    return sessions;
  };
  const view = (s: SessionRecord) => ({
    id: s.id,
    subject: s.subject,
    role: s.role,
    via: s.via,
    createdAt: isoOf(s.createdAt),
    lastSeenAt: isoOf(s.seenAt),
    expiresAt: isoOf(expiresAt(s)),
  });

  table.add(createPortalSessionRoute, async (c, { params: { org }, body }) => {
    if (body.returnUrl !== undefined && options.production() && !body.returnUrl.startsWith("https:")) {
      throw new KeywardError("INVALID_REQUEST", "returnUrl: must be https in production", { field: "returnUrl" });
    }
    const { code, expiresAt: until } = await store().mintLink(
      org,
      { subject: body.subject, role: body.role, returnUrl: body.returnUrl ?? null },
      options.now(),
    );
    // The link is on the host the operator's backend called: the one its customers reach Keyward at.
    return { url: `${new URL(c.req.url).origin}${PORTAL_PATH}/${org}/${code}`, expiresAt: isoOf(until) };
  });

  table.add(currentSessionRoute, async (_c, { who: { actor } }) => {
    if (actor.kind !== "user" || actor.session === undefined || actor.org === null) throw noSession();
    const s = actor.session;
    return {
      id: s.id,
      org: actor.org,
      subject: actor.subject,
      role: actor.role ?? "",
      via: s.via,
      createdAt: isoOf(s.createdAt),
      expiresAt: isoOf(actor.expiresAt),
      returnUrl: s.returnUrl,
      csrfToken: await csrfToken(s.secret),
    };
  });

  table.add(signOutRoute, async (c, { who: { actor } }) => {
    if (actor.kind !== "user" || actor.session === undefined || actor.org === null) throw noSession();
    await store().end(actor.org, { secret: actor.session.secret });
    c.header("Set-Cookie", clearedCookie(options.production()));
    return null;
  });

  table.add(listSessionsRoute, async (_c, { params: { org } }) => ({ sessions: (await store().list(org, options.now())).map(view) }));

  table.add(endSessionRoute, async (_c, { params: { org, id } }) => {
    if (!(await store().end(org, { id }))) throw new KeywardError("NOT_FOUND", "No such open session in this organisation.");
    return null;
  });
}
