// @ts-check
// The Keyward that test-support/shared-keyward.mjs started for the "wrangler-dev"
// project, as the test files use it.
import { inject } from "vitest";
import { keywardClient } from "../../test-support/keyward-dev.mjs";

/**
 * @typedef {{ keyId: string, privateKeyPem: string, fetchesUrl: string }} GithubStandIn
 * @typedef {import("../../test-support/keyward-dev.mjs").KeywardAccess} KeywardAccess
 */

/** The shared Keyward: URL, operator token and dev user tokens. */
export function sharedKeyward() {
  return keywardClient(/** @type {KeywardAccess} */ (inject(/** @type {never} */ ("keyward"))));
}

/** The stand-in for GitHub's secret-scanning keys that the shared Keyward trusts. */
export function githubStandIn() {
  return /** @type {GithubStandIn} */ (inject(/** @type {never} */ ("github")));
}
