// `keyward token`: a development user token, HS256 with KEYWARD_DEV_JWT_SECRET.
import { SignJWT } from "jose";
import { CliError, EXIT_USAGE } from "./errors.js";
import { setting } from "./settings.js";

/** @import { ADMIN_ROLE, CLAIM_NAME_SETTINGS, DEFAULT_CLAIM_NAMES } from "../src/authz/user-claims" */

/**
 * The roles a dev token may carry: the server's admin role, and a member (any
 * other role; a member may read usage but not manage keys).
 * @type {readonly [typeof ADMIN_ROLE, "org:member"]}
 */
export const ROLES = ["org:admin", "org:member"];

/**
 * The gateway's default claim names and the settings that rename them. Copies
 * the CLI can run without compiling the server, held to the server's own
 * constants by their types: a change there is a type error here.
 * @type {typeof DEFAULT_CLAIM_NAMES}
 */
const DEFAULT_CLAIMS = { subject: "sub", org: "org_id", role: "org_role", permissions: "permissions", scope: "scope", resources: "customer_ids" };
/** @type {typeof CLAIM_NAME_SETTINGS} */
const CLAIM_SETTINGS = {
  subject: "CLAIM_SUBJECT",
  org: "CLAIM_ORG",
  role: "CLAIM_ROLE",
  permissions: "CLAIM_PERMISSIONS",
  scope: "CLAIM_SCOPE",
  resources: "CLAIM_RESOURCES",
};

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
  /** @param {keyof typeof DEFAULT_CLAIMS} field */
  const claim = (field) => setting(settings, CLAIM_SETTINGS[field])?.value ?? DEFAULT_CLAIMS[field];

  /** @type {Record<string, unknown>} */
  const claims = {
    [claim("subject")]: options.sub,
    [claim("org")]: options.org,
    [claim("role")]: options.role,
  };
  if (options.permissions !== undefined) claims[claim("permissions")] = options.permissions;
  if (options.customerIds !== undefined) claims[claim("resources")] = options.customerIds;

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
