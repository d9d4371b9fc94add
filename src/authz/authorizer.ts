import type { UserTokenConfig } from "../config";
import { KeywardError } from "../errors";
import type { Authorizer } from "../gateway";
import { ALL_RESOURCES, type RoutePolicy } from "./policy";
import type { UserTokenVerifier } from "./user-token";

export interface AuthorizerOptions {
  claims: UserTokenConfig["claims"];
  verifier: UserTokenVerifier;
  policy: RoutePolicy | null;
}

/** null stands for "everything" (a key without explicit scopes). */
type PermissionSet = Set<string> | null;

/** A user token can only narrow what a key may do: the intersection, never the union. */
export function intersect(key: PermissionSet, user: PermissionSet): PermissionSet {
  if (key === null) return user;
  if (user === null) return key;
  return new Set([...key].filter((p) => user.has(p)));
}

const allows = (set: PermissionSet, permission: string) => set === null || set.has(permission);

const denied = (message: string) => new KeywardError("INSUFFICIENT_PERMISSIONS", message, { bearerError: "insufficient_scope" });

/**
 * Judges the user token (if any) and the route policy for a request whose key is
 * already known. The gateway asks the key's guard afterwards either way, so a
 * revoked key is still answered KEY_REVOKED first and a denial consumes no quota.
 */
export function buildAuthorizer(options: AuthorizerOptions): Authorizer {
  const { policy, verifier } = options;
  return async ({ request, url, record, userToken }) => {
    let user: Awaited<ReturnType<UserTokenVerifier["verify"]>> | null = null;
    if (userToken !== null) {
      user = await verifier.verify(userToken);
      if (user.org !== record.org) {
        throw new KeywardError("ORG_MISMATCH", "The user token belongs to another organisation than the API key. Use a key of the user's organisation.");
      }
    }
    const keyScopes: PermissionSet = record.scopes === null ? null : new Set(record.scopes);
    let userPermissions: PermissionSet = null;
    if (user !== null) {
      const preset = policy && user.appRole !== null ? policy.presets[user.appRole] : undefined;
      // A token without permissions (and no known role) may do nothing: absence never means "all".
      userPermissions = new Set(user.permissions ?? preset?.permissions ?? []);
    }
    const effective = intersect(keyScopes, userPermissions);

    const rule = policy?.match?.(request.method, url.pathname);
    if (policy?.match) {
      if (!rule) throw denied(`No route policy rule allows ${request.method} ${url.pathname}.`);
      if (rule.permission !== null && !allows(effective, rule.permission)) {
        throw denied(
          `${request.method} ${url.pathname} needs the "${rule.permission}" permission, which this key${user ? " and user token together do" : " does"} not grant.`,
        );
      }
      if (rule.resource !== null && !allows(effective, ALL_RESOURCES)) {
        const id = rule.params[rule.resource] as string;
        if (!(user?.resources ?? []).includes(id)) throw denied(`This user is not assigned ${rule.resource} ${JSON.stringify(id)}.`);
      }
    }
    return { user: user?.subject ?? null, permissions: effective === null ? null : [...effective].sort() };
  };
}
