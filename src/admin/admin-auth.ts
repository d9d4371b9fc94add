import { ADMIN_ROLE } from "../authz/user-claims";
import type { UserTokenVerifier } from "../authz/user-token";
import { KeywardError } from "../errors";
import type { Access } from "../http/route-def";

/** A console session behind a user actor (docs/contract.md, console sessions): never logged, never answered but to its own holder. */
export interface ActorSession {
  id: string;
  via: "portal" | "oidc";
  returnUrl: string | null;
  createdAt: number;
  /** The cookie's secret: signs the session out, and derives its CSRF token. */
  secret: string;
}

export type Actor =
  | { kind: "operator" }
  | { kind: "user"; subject: string; org: string | null; role: string | null; expiresAt: number; session?: ActorSession };

/**
 * The actor's name in the audit log. A portal session's subject is the one the
 * operator's backend vouched for, not one an identity provider signed, so it is
 * told apart: `portal:<subject>`; a user token or an identity-provider session is `user:<subject>`.
 */
export function actorName(actor: Actor): string {
  if (actor.kind === "operator") return "operator";
  return actor.session?.via === "portal" ? `portal:${actor.subject}` : `user:${actor.subject}`;
}

export { ADMIN_ROLE };

async function digest(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
}

/** Compares two secrets in constant time (over their SHA-256, so length leaks nothing). */
export async function secretsEqual(a: string, b: string): Promise<boolean> {
  const [x, y] = await Promise.all([digest(a), digest(b)]);
  let diff = 0;
  for (let i = 0; i < x.length; i++) diff |= (x[i] as number) ^ (y[i] as number);
  return diff === 0;
}

/** Who is calling the admin API: an org member (user JWT) or the platform operator. */
export async function authenticate(authorization: string | null, verifier: UserTokenVerifier, operatorToken: string | null): Promise<Actor> {
  const match = authorization === null ? null : /^bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization.trim());
  if (!match) {
    throw new KeywardError("MISSING_AUTH_HEADER", 'Send "Authorization: Bearer <admin user token>" (or the operator token).');
  }
  const token = match[1] as string;
  // The operator token is hex; anything dotted is a user token for the verifier to judge.
  if (token.includes(".")) {
    const claims = await verifier.verify(token);
    return { kind: "user", subject: claims.subject, org: claims.org, role: claims.role, expiresAt: claims.expiresAt };
  }
  if (operatorToken !== null && (await secretsEqual(token, operatorToken))) return { kind: "operator" };
  throw new KeywardError("INVALID_USER_TOKEN", "This is neither a valid user token nor the operator token.", { bearerError: "invalid_token" });
}

const notFound = () => new KeywardError("NOT_FOUND", "No such key in this organisation.");

/**
 * Org admins manage their own org's keys; the operator (the seller's backend)
 * may do whatever an org admin may, in any org, so that it can provision a new
 * customer's first key. A token of another org gets 404 whether or not the org
 * asked for exists, so no org's existence or keys are revealed.
 */
export function requireOrgAdmin(actor: Actor, org: string): string {
  if (actor.kind === "operator") return "operator";
  if (actor.org !== org) {
    // Says which org the token is for (the caller's own, no secret), never whether
    // the org asked for exists: the answer is the same 404 either way.
    throw new KeywardError(
      "NOT_FOUND",
      actor.org === null
        ? "This token names no organisation, so it manages no organisation's keys. Use a token of an admin of the organisation."
        : `This token is for organisation ${JSON.stringify(actor.org)}; it cannot manage another organisation's keys. Use a token of that organisation.`,
    );
  }
  if (actor.role !== ADMIN_ROLE) {
    throw new KeywardError("INSUFFICIENT_PERMISSIONS", `Managing keys needs the ${ADMIN_ROLE} role; ask an admin of your organisation.`);
  }
  return actorName(actor);
}

/**
 * Any user of this org (admin or member), for read-only usage views
 * (threats.md 52: a member may read usage and anomalies, only an admin acts on
 * them). Another org's token gets the same 404 as requireOrgAdmin.
 */
export function requireOrgUser(actor: Actor, org: string): string {
  if (actor.kind === "operator") return "operator";
  if (actor.org !== org) return requireOrgAdmin(actor, org);
  return actorName(actor);
}

/** Org admins of this org, or the platform operator (who may act on any org). */
export function requireOrgAdminOrOperator(actor: Actor, org: string): string {
  return actor.kind === "operator" ? "operator" : requireOrgAdmin(actor, org);
}

export function requireOperator(actor: Actor): string {
  if (actor.kind !== "operator") {
    throw new KeywardError(
      "INSUFFICIENT_PERMISSIONS",
      "Only the operator grants what a customer pays for (rate limits, the org's shared limit, org credits); ask the operator.",
    );
  }
  return "operator";
}

export { notFound };

/**
 * The check a route's `access` (http/route-def.ts) stands for, against the
 * path's org; answers the actor's name for the audit log.
 */
export function permit(access: Exclude<Access, "public">, actor: Actor, org: string): string {
  switch (access) {
    case "token":
      return actorName(actor);
    case "orgUser":
      return requireOrgUser(actor, org);
    case "orgAdmin":
      return requireOrgAdmin(actor, org);
    case "orgAdminOrOperator":
      return requireOrgAdminOrOperator(actor, org);
    case "operator":
      return requireOperator(actor);
  }
}
