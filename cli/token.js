// `keyward token`: a development user token, HS256 with KEYWARD_DEV_JWT_SECRET.
import { SignJWT } from "jose";
import { CliError, EXIT_USAGE } from "./errors.js";
import { setting } from "./settings.js";

export const ROLES = ["org:admin", "org:member"];

/**
 * Refuses unless this is explicitly a development setup: KEYWARD_ENV must be
 * "development" wherever it is set (env and .dev.vars), and set somewhere,
 * because Keyward itself defaults to production.
 * @param {import("./settings.js").Settings} settings
 */
export function assertDevelopment(settings) {
  const values = [
    ["the environment", settings.env.KEYWARD_ENV],
    [".dev.vars", settings.devVars.KEYWARD_ENV],
  ].filter(([, v]) => v !== undefined && v !== "");
  for (const [source, value] of values) {
    if (value !== "development") {
      throw new CliError(
        `refusing to mint a token: KEYWARD_ENV is ${JSON.stringify(value)} in ${source}. Dev tokens are for local development only (KEYWARD_ENV=development).`,
        { exitCode: EXIT_USAGE },
      );
    }
  }
  if (values.length === 0) {
    throw new CliError(
      "refusing to mint a token: KEYWARD_ENV is not set to development (Keyward defaults to production). Run from the directory with your .dev.vars (`npm run dev` creates it).",
      { exitCode: EXIT_USAGE },
    );
  }
}

/**
 * @typedef {object} TokenOptions
 * @property {string} org
 * @property {string} role
 * @property {string} sub
 * @property {number} ttlSeconds
 * @property {string[] | undefined} permissions
 * @property {string[] | undefined} customerIds
 */

/**
 * Mints the token. Claim names follow CLAIM_* settings like the gateway does.
 * @param {TokenOptions} options
 * @param {import("./settings.js").Settings} settings
 * @param {number} [nowSeconds]
 * @returns {Promise<string>}
 */
export async function mintDevToken(options, settings, nowSeconds = Math.floor(Date.now() / 1000)) {
  assertDevelopment(settings);
  const secret = setting(settings, "KEYWARD_DEV_JWT_SECRET");
  if (secret === null) {
    throw new CliError(
      "no development secret: KEYWARD_DEV_JWT_SECRET is not in .dev.vars here nor in the environment. Run from the project directory (`npm run dev` creates .dev.vars).",
      { exitCode: EXIT_USAGE },
    );
  }
  const claim = (/** @type {string} */ name, /** @type {string} */ fallback) => setting(settings, name)?.value ?? fallback;

  /** @type {Record<string, unknown>} */
  const claims = {
    [claim("CLAIM_SUBJECT", "sub")]: options.sub,
    [claim("CLAIM_ORG", "org_id")]: options.org,
    [claim("CLAIM_ROLE", "org_role")]: options.role,
  };
  if (options.permissions !== undefined) claims[claim("CLAIM_PERMISSIONS", "permissions")] = options.permissions;
  if (options.customerIds !== undefined) claims[claim("CLAIM_RESOURCES", "customer_ids")] = options.customerIds;

  const jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuedAt(nowSeconds)
    .setExpirationTime(nowSeconds + options.ttlSeconds);
  const issuer = setting(settings, "USER_TOKEN_ISSUER");
  if (issuer !== null) jwt.setIssuer(issuer.value);
  const audience = setting(settings, "USER_TOKEN_AUDIENCE");
  if (audience !== null) jwt.setAudience(audience.value);
  return jwt.sign(new TextEncoder().encode(secret.value));
}
