import { withTimeout } from "../timeout";
import type { GuardCheck, GuardVerdict, KeySettings } from "./guard-types";

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

/** The guards' namespace as an org call uses it (structural: this file need not import the guard class). */
export interface OrgGuards {
  idFromName(name: string): DurableObjectId;
  get(id: DurableObjectId): { check(input: GuardCheck): unknown };
}

/**
 * Asks the org's guard to admit one request that a key's guard has admitted by
 * its own windows and credits: its shared window (`check.settings` of the
 * shared limit) and its org credits (org-credits.ts), the request's hold
 * included. Answers the key's verdict when the org admits it, an org-scoped
 * `limited` or `exhausted` when it refuses. Throws when the org's guard does
 * not answer within ORG_GUARD_TIMEOUT_MS or answers anything else (the caller
 * fails closed). On a refusal or a failure `takeBack` runs first, so that a
 * request the org refused consumes nothing in the key's guard either.
 */
export async function confirmWithOrg(
  guards: OrgGuards,
  check: GuardCheck,
  verdict: GuardVerdict & { kind: "admitted" },
  takeBack: () => void,
): Promise<GuardVerdict> {
  const stub = guards.get(guards.idFromName(check.settings.keyId));
  let answer: GuardVerdict;
  try {
    answer = (await withTimeout(Promise.resolve(stub.check(check)), ORG_GUARD_TIMEOUT_MS, "org guard")) as GuardVerdict;
  } catch (error) {
    takeBack();
    throw error;
  }
  if (answer.kind === "admitted") return verdict;
  takeBack();
  if (answer.kind === "exhausted") return { ...answer, scope: "org" };
  if (answer.kind !== "limited") throw new Error(`org guard answered ${answer.kind}`);
  return { kind: "limited", scope: "org", limit: answer.limit, windowSeconds: answer.windowSeconds, retryAfterMs: answer.retryAfterMs };
}
