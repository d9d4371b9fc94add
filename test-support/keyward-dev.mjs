// Keyward under `wrangler dev` in front of the demo echo origin, with fresh
// development secrets, for the browser and raw-HTTP tests.
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { SignJWT } from "jose";
import { startEchoOrigin } from "../demo/echo-origin.mjs";
import { freePort, startKeywardDev } from "./wrangler-dev.mjs";

/** @param {{ vars?: Record<string, string> }} [options]  extra variables for the dev server */
export async function startKeyward(options = {}) {
  const originPort = await freePort();
  const origin = await startEchoOrigin({ port: originPort });
  const devSecret = randomBytes(32).toString("hex");
  const jwk = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ format: "jwk" });
  const operatorToken = options.vars?.KEYWARD_OPERATOR_TOKEN ?? `dev_op_${randomBytes(24).toString("hex")}`;
  let dev;
  try {
    dev = await startKeywardDev({
      vars: {
        KEYWARD_ENV: "development",
        ORIGIN_URL: `http://127.0.0.1:${originPort}`,
        KEYWARD_SIGNING_KEY: JSON.stringify({ ...jwk, kid: "dev-browser" }),
        KEYWARD_DEV_JWT_SECRET: devSecret,
        ...options.vars,
        KEYWARD_OPERATOR_TOKEN: operatorToken,
      },
    });
  } catch (error) {
    origin.close();
    throw error;
  }
  return {
    url: dev.url,
    /** The operator token (the seller's backend): the only one that grants credits to an org without org credits. */
    operatorToken,
    /** A dev user token, as `keyward token` would mint it (a negative ttl makes an expired one). */
    async adminToken(org, role = "org:admin", { ttl = 600, subject = "browser-admin" } = {}) {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ org_id: org, org_role: role })
        .setProtectedHeader({ alg: "HS256" })
        .setSubject(subject)
        .setIssuedAt(now + Math.min(0, ttl) - 60)
        .setExpirationTime(now + ttl)
        .sign(new TextEncoder().encode(devSecret));
    },
    async stop() {
      await dev.stop();
      origin.close();
    },
  };
}
