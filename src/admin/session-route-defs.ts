/** The admin API's console session routes, defined once (admin-routes.ts re-exports them; session-routes.ts mounts them). */
import type { PathParam } from "../http/route-def";
import { defineRoute } from "../http/route-def";
import { org } from "./route-params";
import { portalSessionBody, portalSessionCreated, sessionList, sessionSelf } from "./session-schemas";

const sessionId: PathParam = { pattern: /^ses_[0-9a-f]{20}$/, notFound: "No such open session in this organisation." };

export const createPortalSessionRoute = defineRoute({
  method: "post",
  path: "/orgs/:org/portal-sessions",
  summary:
    "Mint a one-time console sign-in link for a customer of the org (operator): redirect them to `url`, and they land in the console signed in with that role",
  access: "operator",
  params: { org },
  body: { schema: portalSessionBody, required: true },
  reply: { status: 201, description: "the link, valid once for 5 minutes", schema: portalSessionCreated },
});

export const currentSessionRoute = defineRoute({
  method: "get",
  path: "/session",
  summary: "The console session of this cookie, with its CSRF token (session cookie only; a bearer token has no session)",
  access: "token",
  reply: { status: 200, description: "the session", schema: sessionSelf },
});

export const signOutRoute = defineRoute({
  method: "delete",
  path: "/session",
  summary: "Sign out: ends this cookie's session on the server (session cookie only)",
  access: "token",
  reply: { status: 204, description: "ended" },
});

export const listSessionsRoute = defineRoute({
  method: "get",
  path: "/orgs/:org/sessions",
  summary: "The org's open console sessions (org admin or operator)",
  access: "orgAdminOrOperator",
  params: { org },
  reply: { status: 200, description: "sessions", schema: sessionList },
});

export const endSessionRoute = defineRoute({
  method: "delete",
  path: "/orgs/:org/sessions/:id",
  summary: "End one of the org's console sessions (org admin or operator): its next call is 401",
  access: "orgAdminOrOperator",
  params: { org, id: sessionId },
  reply: { status: 204, description: "ended" },
});
