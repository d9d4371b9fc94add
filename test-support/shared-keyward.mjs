// @ts-check
// The vitest globalSetup of the "node" project (vitest.config.ts): one Keyward
// under `wrangler dev`, with its origin (the echo origin, and the metered routes of
// test-support/metered-origin.mjs) and a local stand-in for GitHub's secret-scanning
// public keys, for all the test files that talk to it over HTTP.
// Booting wrangler dev is the slow part (seconds of CPU on a 2-core machine); each
// file used to boot its own. It is started here but not waited for, so that it
// boots while the other test files run; the files that use it wait at import for
// the stand-in's /keyward-ready to answer (test-node/support/shared.mjs). The files
// tell their data apart by org, and take what they need with `inject`.
import { generateKeyPairSync } from "node:crypto";
import { createServer } from "node:http";
import { echo } from "../demo/echo-origin.mjs";
import { launchKeyward } from "./keyward-dev.mjs";
import { METERED_RULES, startMeteredOrigin } from "./metered-origin.mjs";

/** The `key_identifier` of the stand-in GitHub key. */
const GITHUB_KEY_ID = "test-key-identifier-1";

/**
 * The shared Keyward's route policy: the metered routes (test-node/metering-e2e.test.mjs),
 * then every other route as with no policy (no permission, cost 1), which the other files use
 * (GET /v1/things and the like). A policy with rules denies what no rule matches: so does this
 * one for the spellings no rule can match (an encoded slash, `;`, a method override), which
 * no file of the node project sends to it.
 */
const POLICY = { rules: [...METERED_RULES, { method: "*", path: "/*", permission: null }] };

/** @param {import("vitest/node").TestProject} project */
export default async function setup(project) {
  const github = generateKeyPairSync("ec", { namedCurve: "P-256" });
  let fetches = 0;
  /** @type {Promise<void>} Settles once the shared Keyward answers or failed to start. */
  let keywardReady = Promise.resolve();
  const keysDoc = createServer((req, res) => {
    // Answers once the Keyward is up: 204, or 503 with why it did not start (wrangler's output).
    if (req.url === "/keyward-ready") {
      keywardReady.then(
        () => res.writeHead(204).end(),
        (error) => res.writeHead(503, { "content-type": "text/plain" }).end(String(error?.message ?? error)),
      );
      return;
    }
    res.writeHead(200, { "content-type": "application/json" });
    // How often Keyward fetched the document (itself not counted), for the test that checks its cache.
    if (req.url === "/fetches") return res.end(JSON.stringify(fetches));
    // What the metered routes of the origin received, for the metering test.
    if (req.url === "/metered-origin") return res.end(JSON.stringify(origin.state()));
    fetches++;
    res.end(
      JSON.stringify({ public_keys: [{ key_identifier: GITHUB_KEY_ID, key: github.publicKey.export({ type: "spki", format: "pem" }), is_current: true }] }),
    );
  });
  const origin = await startMeteredOrigin({ others: echo });
  await new Promise((resolve) => keysDoc.listen(0, "127.0.0.1", () => resolve(undefined)));
  const docUrl = `http://127.0.0.1:${/** @type {import("node:net").AddressInfo} */ (keysDoc.address()).port}`;
  let keyward;
  try {
    keyward = await launchKeyward({
      // The vitest config, loaded in this process, has just bundled the console.
      build: false,
      vars: {
        ORIGIN_URL: origin.url,
        ROUTE_POLICY: JSON.stringify(POLICY),
        GITHUB_SECRET_SCANNING_KEYS_URL: `${docUrl}/meta/public_keys/secret_scanning`,
        // A guard reports usage this long after its first unreported request (5 s in production), so the HTTP usage test does not wait on the clock.
        KEYWARD_DEV_REPORT_DELAY_MS: "200",
      },
    });
  } catch (error) {
    keysDoc.close();
    origin.close();
    throw error;
  }
  keywardReady = keyward.ready;
  project.provide("keyward", { url: keyward.url, devSecret: keyward.devSecret, operatorToken: keyward.operatorToken });
  project.provide("keywardReadyUrl", `${docUrl}/keyward-ready`);
  project.provide("github", {
    keyId: GITHUB_KEY_ID,
    privateKeyPem: /** @type {string} */ (github.privateKey.export({ type: "pkcs8", format: "pem" })),
    fetchesUrl: `${docUrl}/fetches`,
  });
  project.provide("meteredOriginUrl", `${docUrl}/metered-origin`);
  return async () => {
    await keyward.stop();
    keysDoc.close();
    origin.close();
  };
}
