// @ts-check
// Keyward under `wrangler dev` in front of the demo echo origin, with fresh
// development secrets, for the browser and raw-HTTP tests.
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { SignJWT } from "jose";
import { startEchoOrigin } from "../demo/echo-origin.mjs";
import { freePort, launchKeywardDev } from "./wrangler-dev.mjs";

/**
 * What a test needs to talk to a running Keyward: its URL, the development JWT
 * secret its user tokens are signed with, and its operator token. Plain data, so
 * that a vitest globalSetup can hand it to the test files (`provide`).
 * @typedef {{ url: string, devSecret: string, operatorToken: string }} KeywardAccess
 */

/**
 * Starts Keyward under `wrangler dev` with an echo origin of its own, and waits until it answers.
 * @param {{ vars?: Record<string, string> }} [options]  extra variables for the dev server
 */
export async function startKeyward(options = {}) {
  const keyward = await launchKeyward(options);
  try {
    await keyward.ready;
  } catch (error) {
    await keyward.stop();
    throw error;
  }
  return keyward;
}

/**
 * Starts Keyward under `wrangler dev` with an echo origin of its own, without
 * waiting for it to boot: URL and access are known at once; `ready` settles when
 * it answers or failed to start (see launchKeywardDev).
 * @param {{ vars?: Record<string, string>, build?: boolean }} [options]  extra variables for the dev server;
 *   `build: false` skips wrangler's [build] step where the console was just built (launchKeywardDev)
 */
export async function launchKeyward(options = {}) {
  const originPort = await freePort();
  const origin = await startEchoOrigin({ port: originPort });
  const devSecret = randomBytes(32).toString("hex");
  const jwk = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ format: "jwk" });
  /** @type {Record<string, string>} */
  const vars = {
    KEYWARD_ENV: "development",
    ORIGIN_URL: `http://127.0.0.1:${originPort}`,
    KEYWARD_SIGNING_KEY: JSON.stringify({ ...jwk, kid: "dev-browser" }),
    KEYWARD_DEV_JWT_SECRET: devSecret,
    KEYWARD_OPERATOR_TOKEN: `dev_op_${randomBytes(24).toString("hex")}`,
    ...options.vars,
  };
  let dev;
  try {
    dev = await launchKeywardDev({ vars, build: options.build });
  } catch (error) {
    origin.close();
    throw error;
  }
  return {
    ...keywardClient({ url: dev.url, devSecret, operatorToken: /** @type {string} */ (vars.KEYWARD_OPERATOR_TOKEN) }),
    ready: dev.ready,
    async stop() {
      await dev.stop();
      origin.close();
    },
  };
}

/**
 * A running Keyward as the tests use it: its URL and access, and dev user tokens for it.
 * @param {KeywardAccess} access
 */
export function keywardClient(access) {
  return {
    ...access,
    /**
     * A dev user token, as `keyward token` would mint it (a negative ttl makes an expired one).
     * @param {string} org
     * @param {string} [role]
     * @param {{ ttl?: number, subject?: string }} [options]
     */
    async adminToken(org, role = "org:admin", { ttl = 600, subject = "browser-admin" } = {}) {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ org_id: org, org_role: role })
        .setProtectedHeader({ alg: "HS256" })
        .setSubject(subject)
        .setIssuedAt(now + Math.min(0, ttl) - 60)
        .setExpirationTime(now + ttl)
        .sign(new TextEncoder().encode(access.devSecret));
    },
  };
}
