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

/** Headers through which frameworks let a request claim another method. */
const OVERRIDE_HEADERS = ["x-http-method-override", "x-http-method", "x-method-override"];

/**
 * Whether a query parameter name is read as `_method` by some origin. PHP turns
 * `.` and spaces in names into `_` and `name[]` into an array under `name`;
 * Laravel and Symfony then honour `_method` on a POST. Names are compared after
 * percent-decoding (URLSearchParams has done that), in any letter case, with any
 * trailing `[…]` removed, so `.method`, `%20method`, `_METHOD`, `_Method` and
 * `_method[]` all count.
 */
export function isMethodOverrideParam(name: string): boolean {
  const bare = name
    .replace(/(\[[^\]]*\])+$/, "")
    .replace(/[. ]/g, "_")
    .toLowerCase();
  return bare === "_method";
}

/**
 * The method a request asks the origin to use instead of its own, if any. Rules
 * are judged on the real method, so an origin that honours overrides would let a
 * GET allowed to a read-only user act as a DELETE: such requests are denied. An
 * empty value overrides nothing (frameworks ignore it), so it is not refused.
 */
export function methodOverride(request: Request, url: URL): string | null {
  const claimed = OVERRIDE_HEADERS.map((h) => request.headers.get(h));
  // No query, no parameter to read (and no URLSearchParams to build on every request).
  if (url.search !== "") for (const [name, value] of url.searchParams) if (isMethodOverrideParam(name)) claimed.push(value);
  for (const value of claimed) {
    const method = value?.trim() ?? "";
    if (method !== "" && method.toUpperCase() !== request.method.toUpperCase()) return method.slice(0, 16);
  }
  return null;
}

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
      const preset = policy && user.appRole !== null && Object.hasOwn(policy.presets, user.appRole) ? policy.presets[user.appRole] : undefined;
      // A token without permissions (and no known role) may do nothing: absence never means "all".
      // Explicit permissions first, then the role's preset, then OAuth scopes: most
      // providers put a generic `scope` (openid profile …) in every access token,
      // which must not hide the role that says what the user may do.
      userPermissions = new Set(user.permissions ?? preset?.permissions ?? user.scopes ?? []);
    }
    const effective = intersect(keyScopes, userPermissions);

    const rule = policy?.match?.(request.method, url.pathname);
    if (policy?.match) {
      const override = methodOverride(request, url);
      if (override !== null) {
        throw denied(
          `${request.method} ${url.pathname} asks to be treated as ${JSON.stringify(override)} (a method override), which a route policy does not allow. Send the real method.`,
        );
      }
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
    return {
      user: user?.subject ?? null,
      permissions: effective === null ? null : [...effective].sort(),
      cost: rule?.cost ?? 1,
      metering: rule?.metering ?? null,
    };
  };
}
