// @ts-check
// The Keyward that test-support/shared-keyward.mjs started for the "node"
// project, as the test files use it.
import { inject } from "vitest";
import { keywardClient } from "../../test-support/keyward-dev.mjs";

// (The provided values are typed in test-support/provided-context.d.ts.)

// The globalSetup does not wait for wrangler dev to boot; a file that imports this
// waits here, once per test worker, until it answers (a failed start fails the file with wrangler's output).
const ready = await fetch(inject("keywardReadyUrl"));
if (!ready.ok) throw new Error(`the shared Keyward did not start: ${await ready.text()}`);

/** The shared Keyward: URL, operator token and dev user tokens. */
export function sharedKeyward() {
  return keywardClient(inject("keyward"));
}

/** The stand-in for GitHub's secret-scanning keys that the shared Keyward trusts. */
export function githubStandIn() {
  return inject("github");
}

/**
 * What the metered routes of the shared Keyward's origin have received so far
 * (test-support/metered-origin.mjs): how many requests, and the latest context token.
 * @returns {Promise<{ calls: number, lastContext: string }>}
 */
export async function meteredOriginState() {
  return (await fetch(inject("meteredOriginUrl"))).json();
}
