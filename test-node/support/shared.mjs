// @ts-check
// The Keyward that test-support/shared-keyward.mjs started for the "wrangler-dev"
// project, as the test files use it.
import { inject } from "vitest";
import { keywardClient } from "../../test-support/keyward-dev.mjs";

// (The provided values are typed in test-support/provided-context.d.ts.)

/** The shared Keyward: URL, operator token and dev user tokens. */
export function sharedKeyward() {
  return keywardClient(inject("keyward"));
}

/** The stand-in for GitHub's secret-scanning keys that the shared Keyward trusts. */
export function githubStandIn() {
  return inject("github");
}
