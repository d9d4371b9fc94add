import type { KeySettings } from "./guard-types";
import { orgGuardName } from "./org-limit";

/**
 * Org credits: one balance for all of an org's keys, held by the org's guard
 * (the KeyGuard named `org:<org>`, which also holds the org's shared window,
 * src/guard/org-limit.ts). The operator gives them (PUT /orgs/{org}/credits);
 * every key guard of the org is told, and from then on asks the org's guard to
 * spend (or hold) with each admission it makes. One object decides, in order,
 * so the balance is exact under concurrency across keys. An org without org
 * credits has no such call: its keys pay nothing for the feature.
 */

/**
 * The settings the admin API and key guards send the org's guard for its
 * credits: version 0, so that they never replace the shared limit's settings
 * (which carry its version); a guard without state takes no window from them.
 */
export function orgCreditsSettings(org: string): KeySettings {
  return { keyId: orgGuardName(org), version: 0, limit: ORG_NO_LIMIT, windowSeconds: 1, expiresAt: null, revoked: false, revokeAt: null };
}

/** The org guard's window when the org has credits but no shared limit: never the one that refuses. */
export const ORG_NO_LIMIT = Number.MAX_SAFE_INTEGER;
