import type { KeySettings } from "./guard-types";

/**
 * A shared sliding window for all of an org's keys, on top of each key's own.
 * It is held by a guard of its own (the KeyGuard class, named `org:<org>`), and
 * only the guards of an org's keys call it, once each key guard has admitted a
 * request by its own window and credits. An org without a shared limit has no
 * such guard and makes no such call: its keys pay nothing for the feature.
 */
export interface OrgLimit {
  org: string;
  limit: number;
  windowSeconds: number;
  /** Grows with every change, so that the org's guard adopts the newest. */
  version: number;
}

/** The name of the guard that holds an org's shared window (never a key id: those start with key_). */
export const orgGuardName = (org: string) => `org:${org}`;

/** The settings a key guard sends its org's guard with each check. */
export function orgGuardSettings(limit: OrgLimit): KeySettings {
  return {
    keyId: orgGuardName(limit.org),
    version: limit.version,
    limit: limit.limit,
    windowSeconds: limit.windowSeconds,
    expiresAt: null,
    revoked: false,
    revokeAt: null,
  };
}

/** How long a key guard waits for its org's guard before failing the request closed (503). */
export const ORG_GUARD_TIMEOUT_MS = 2_000;
