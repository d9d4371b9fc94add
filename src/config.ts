import * as z from "zod";
import { parseCorsOrigins } from "./admin/cors-origins";
import { CLAIM_NAME_SETTINGS, type ClaimNames, DEFAULT_CLAIM_NAMES } from "./authz/user-claims";
import { retentionMs } from "./guard/storage-end";
import { type PublishedKey, parsePublishedKeys } from "./identity/published-keys";
import { assertTypePrefix } from "./keys/key-format";
import { GITHUB_SECRET_SCANNING_KEYS } from "./leaks/github-keys";
import { type ConsoleOidcConfig, OidcConfigProblem, parseConsoleOidc } from "./sessions/oidc-config";
import { type AnomalyThresholds, parseThresholds } from "./usage/anomaly-rules";
import { quietReportPeriodOf, reportDelayOf } from "./usage/usage-report";

/**
 * Keyward's configuration, read from the Worker's variables and secrets once per
 * isolate and validated as a whole. A bad value stops Keyward from serving (every
 * request gets 503, fail closed) and the log line names the variable and what to do.
 */
export interface Config {
  environment: "development" | "production";
  /**
   * The origin's base URL. With an ORIGIN service binding it is only the URL the
   * origin Worker sees (its path is still the prefix); requests go through the binding.
   */
  originUrl: string;
  originUrlTest: string | null;
  originTimeoutMs: number;
  /** KEYWARD_WEBSOCKET_MAX_SECONDS, in ms: how long Keyward relays a WebSocket before closing it (src/proxy/websocket-bound.ts). */
  websocketMaxMs: number;
  apiKeyHeader: string;
  keyTypePrefix: string;
  defaultLimit: number;
  defaultWindowSeconds: number;
  kvTimeoutMs: number;
  guardTimeoutMs: number;
  cacheTtlMs: number;
  contextTtlSeconds: number;
  contextIssuer: string;
  signingKey: JsonWebKey & { kid: string };
  /** KEYWARD_PUBLISHED_KEYS: public keys in the JWKS beside the signing key's (key rotation, docs/origin.md). */
  publishedKeys: PublishedKey[];
  operatorToken: string | null;
  userTokens: UserTokenConfig;
  /** Per-key usage counting in the guards (USAGE_COUNTING, on unless "off"). */
  usageCounting: boolean;
  /** USAGE_ANOMALY_THRESHOLDS: the anomaly rules' thresholds (docs/usage.md). */
  anomalyThresholds: AnomalyThresholds;
  /** GUARD_RETENTION_DAYS, in ms: how long a revoked or expired key's guard keeps its storage (src/guard/storage-end.ts). */
  guardRetentionMs: number;
  leaks: LeakConfig;
  /** ADMIN_CORS_ORIGINS: browser origins allowed to call the admin API (src/admin/cors-origins.ts); empty: none. */
  adminCorsOrigins: string[];
  /** CONSOLE_OIDC_*: the console's sign-in with the identity provider (src/sessions/oidc-config.ts); null: off. */
  consoleOidc: ConsoleOidcConfig | null;
}

/** Leaked-key reports (docs/leaks.md). */
export interface LeakConfig {
  /** revoke: a reported key is revoked at once; notify: it is marked, audited and announced only. */
  action: "revoke" | "notify";
  /** GitHub's public keys document for secret scanning alerts. */
  githubKeysUrl: string;
  githubKeysTimeoutMs: number;
  /** `POST /leaks` reports accepted per client address per minute. */
  reportsPerMinute: number;
}

export interface UserTokenConfig {
  jwksUrl: string | null;
  publicKey: string | null;
  devSecret: string | null;
  /** Pinned algorithms; a token signed with any other is refused. */
  algorithms: string[];
  issuer: string | null;
  audience: string | null;
  clockSkewSeconds: number;
  jwksTimeoutMs: number;
  claims: ClaimNames;
}

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`Keyward configuration: ${variable} ${problem}`);
    this.name = "ConfigError";
  }
}

const DEV_MARK = "dev_";

/** The URL an ORIGIN service sees when ORIGIN_URL is not set. */
export const SERVICE_ORIGIN_URL = "https://origin.invalid";

const intVar = (name: string, fallback: number, min: number, max: number) => (raw: unknown) => {
  if (raw === undefined || raw === "") return fallback;
  const n = typeof raw === "number" ? raw : Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(name, `must be a whole number from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  }
  return n;
};

function str(env: Record<string, unknown>, name: string): string | null {
  const raw = env[name];
  if (raw === undefined || raw === null || raw === "") return null;
  if (typeof raw !== "string") throw new ConfigError(name, "must be a string");
  return raw;
}

/** The claim names of user tokens: each CLAIM_* setting, else the default name. */
function claimNames(env: Record<string, unknown>): ClaimNames {
  const names = { ...DEFAULT_CLAIM_NAMES } as ClaimNames;
  for (const field of Object.keys(CLAIM_NAME_SETTINGS) as (keyof ClaimNames)[])
    names[field] = str(env, CLAIM_NAME_SETTINGS[field]) ?? DEFAULT_CLAIM_NAMES[field];
  return names;
}

function url(env: Record<string, unknown>, name: string): string | null {
  const raw = str(env, name);
  if (raw === null) return null;
  let parsed: URL | null = null;
  try {
    parsed = new URL(raw);
  } catch {}
  if (!parsed || (parsed.protocol !== "http:" && parsed.protocol !== "https:")) {
    throw new ConfigError(name, `must be an absolute http(s) URL, got ${JSON.stringify(raw)}`);
  }
  return parsed.toString().replace(/\/$/, "");
}

const signingKeySchema = z.object({
  kty: z.literal("EC"),
  crv: z.literal("P-256"),
  x: z.string(),
  y: z.string(),
  d: z.string(),
  kid: z.string().min(1),
});

export function loadConfig(env: Record<string, unknown>): Config {
  const environment = str(env, "KEYWARD_ENV") ?? "production";
  if (environment !== "production" && environment !== "development") {
    throw new ConfigError("KEYWARD_ENV", `must be "production" or "development", got ${JSON.stringify(environment)}`);
  }
  const production = environment === "production";

  const originService = env.ORIGIN !== undefined && env.ORIGIN !== null;
  if (originService && typeof (env.ORIGIN as { fetch?: unknown }).fetch !== "function") {
    throw new ConfigError("ORIGIN", 'must be a service binding (a [[services]] entry with binding = "ORIGIN" in wrangler.toml), not a variable');
  }
  // With a service binding the URL only says what the origin Worker sees; the
  // reserved .invalid name can never resolve, should anything try the network.
  const originUrl = url(env, "ORIGIN_URL") ?? (originService ? SERVICE_ORIGIN_URL : null);
  if (originUrl === null) {
    throw new ConfigError("ORIGIN_URL", "is required: set it to the base URL of the API Keyward protects (or bind the origin Worker as the ORIGIN service)");
  }

  const apiKeyHeader = (str(env, "API_KEY_HEADER") ?? "x-api-key").toLowerCase();
  if (!/^[a-z0-9-]{1,64}$/.test(apiKeyHeader) || apiKeyHeader === "authorization" || apiKeyHeader.startsWith("x-keyward-")) {
    throw new ConfigError("API_KEY_HEADER", "must be a header name (letters, digits, dashes), not Authorization or X-Keyward-*");
  }
  const keyTypePrefix = str(env, "KEY_TYPE_PREFIX") ?? "sk";
  try {
    assertTypePrefix(keyTypePrefix);
  } catch (error) {
    throw new ConfigError("KEY_TYPE_PREFIX", (error as Error).message.replace(/^KEY_TYPE_PREFIX /, ""));
  }

  const rawSigningKey = str(env, "KEYWARD_SIGNING_KEY");
  if (rawSigningKey === null) {
    throw new ConfigError("KEYWARD_SIGNING_KEY", "is required: a private EC P-256 JWK with a kid (npm run dev creates one in .dev.vars)");
  }
  let signingKey: Config["signingKey"];
  try {
    signingKey = signingKeySchema.parse(JSON.parse(rawSigningKey));
  } catch {
    throw new ConfigError("KEYWARD_SIGNING_KEY", "must be the JSON of a private EC P-256 JWK with kty, crv, x, y, d and kid");
  }

  const rawPublishedKeys = str(env, "KEYWARD_PUBLISHED_KEYS");
  let publishedKeys: PublishedKey[] = [];
  try {
    if (rawPublishedKeys !== null) publishedKeys = parsePublishedKeys(rawPublishedKeys, signingKey);
  } catch (error) {
    throw new ConfigError("KEYWARD_PUBLISHED_KEYS", (error as Error).message);
  }

  const operatorToken = str(env, "KEYWARD_OPERATOR_TOKEN");
  // Documented as hex (`openssl rand -hex 32`; `npm run dev` writes dev_op_ + hex):
  // anything else is a pasted password or a truncated secret, refused at start-up.
  if (operatorToken !== null && !/^(?:dev_op_)?[0-9a-fA-F]{32,}$/.test(operatorToken)) {
    throw new ConfigError("KEYWARD_OPERATOR_TOKEN", "must be at least 32 hex characters of random data (e.g. openssl rand -hex 32)");
  }
  const reportDelay = reportDelayOf(env);
  if (reportDelay.error !== null) throw new ConfigError("KEYWARD_DEV_REPORT_DELAY_MS", reportDelay.error);
  const quietPeriod = quietReportPeriodOf(env);
  if (quietPeriod.error !== null) throw new ConfigError("KEYWARD_DEV_QUIET_REPORT_PERIOD_MS", quietPeriod.error);

  const devSecret = str(env, "KEYWARD_DEV_JWT_SECRET");
  if (production) {
    // Dev secrets are generated on developer machines and sit in plain files; they
    // must never protect real traffic.
    if (devSecret !== null)
      throw new ConfigError("KEYWARD_DEV_JWT_SECRET", "is for local development only; remove it in production and configure USER_JWKS_URL or USER_PUBLIC_KEY");
    if (operatorToken?.startsWith(DEV_MARK)) throw new ConfigError("KEYWARD_OPERATOR_TOKEN", "is a development token; generate a new secret for production");
    if (signingKey.kid.startsWith("dev-")) throw new ConfigError("KEYWARD_SIGNING_KEY", "is a development key; generate a new key for production");
  }

  const jwksUrl = url(env, "USER_JWKS_URL");
  const publicKey = str(env, "USER_PUBLIC_KEY");
  const algorithms = (str(env, "USER_JWT_ALGORITHMS") ?? (devSecret !== null && jwksUrl === null && publicKey === null ? "HS256" : "RS256,ES256"))
    .split(",")
    .map((a) => a.trim())
    .filter((a) => a !== "");
  const allowed = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA", "HS256"];
  for (const alg of algorithms) {
    if (!allowed.includes(alg)) throw new ConfigError("USER_JWT_ALGORITHMS", `has ${JSON.stringify(alg)}; allowed: ${allowed.join(", ")}`);
  }
  if (algorithms.includes("HS256") && (jwksUrl !== null || publicKey !== null)) {
    throw new ConfigError(
      "USER_JWT_ALGORITHMS",
      "must not include HS256 together with a public key or JWKS (a public key must never be usable as an HMAC secret)",
    );
  }
  if (publicKey !== null && algorithms.length !== 1) {
    throw new ConfigError("USER_JWT_ALGORITHMS", "must name exactly one algorithm when USER_PUBLIC_KEY is set");
  }

  const usageCounting = str(env, "USAGE_COUNTING") ?? "on";
  if (usageCounting !== "on" && usageCounting !== "off") throw new ConfigError("USAGE_COUNTING", `must be "on" or "off", got ${JSON.stringify(usageCounting)}`);
  let anomalyThresholds: AnomalyThresholds;
  try {
    anomalyThresholds = parseThresholds(env.USAGE_ANOMALY_THRESHOLDS);
  } catch (error) {
    throw new ConfigError("USAGE_ANOMALY_THRESHOLDS", (error as Error).message);
  }

  let guardRetentionMs: number;
  try {
    // Read by each key's guard from the same variable; checked here so that a bad value stops the Worker.
    guardRetentionMs = retentionMs(env.GUARD_RETENTION_DAYS);
  } catch (error) {
    throw new ConfigError("GUARD_RETENTION_DAYS", (error as Error).message);
  }

  const leakAction = str(env, "LEAK_ACTION") ?? "revoke";
  if (leakAction !== "revoke" && leakAction !== "notify") {
    throw new ConfigError("LEAK_ACTION", `must be "revoke" or "notify", got ${JSON.stringify(leakAction)}`);
  }

  let adminCorsOrigins: string[];
  try {
    adminCorsOrigins = parseCorsOrigins(str(env, "ADMIN_CORS_ORIGINS"), production);
  } catch (error) {
    throw new ConfigError("ADMIN_CORS_ORIGINS", (error as Error).message);
  }

  const jwksTimeoutMs = intVar("USER_JWKS_TIMEOUT_MS", 3_000, 50, 30_000)(env.USER_JWKS_TIMEOUT_MS);
  const audience = str(env, "USER_TOKEN_AUDIENCE");
  let consoleOidc: ConsoleOidcConfig | null;
  try {
    consoleOidc = parseConsoleOidc(env, { production, hasProviderKeys: jwksUrl !== null || publicKey !== null, audience, timeoutMs: jwksTimeoutMs });
  } catch (error) {
    if (error instanceof OidcConfigProblem) throw new ConfigError(error.variable, error.message);
    throw error;
  }

  return {
    environment,
    originUrl,
    adminCorsOrigins,
    consoleOidc,
    usageCounting: usageCounting === "on",
    anomalyThresholds,
    guardRetentionMs,
    originUrlTest: url(env, "ORIGIN_URL_TEST"),
    originTimeoutMs: intVar("ORIGIN_TIMEOUT_MS", 10_000, 50, 300_000)(env.ORIGIN_TIMEOUT_MS),
    websocketMaxMs: intVar("KEYWARD_WEBSOCKET_MAX_SECONDS", 3_600, 1, 86_400)(env.KEYWARD_WEBSOCKET_MAX_SECONDS) * 1000,
    apiKeyHeader,
    keyTypePrefix,
    defaultLimit: intVar("DEFAULT_RATE_LIMIT", 60, 0, 1_000_000)(env.DEFAULT_RATE_LIMIT),
    defaultWindowSeconds: intVar("DEFAULT_WINDOW_SECONDS", 60, 1, 86_400)(env.DEFAULT_WINDOW_SECONDS),
    kvTimeoutMs: intVar("KV_TIMEOUT_MS", 2_000, 10, 30_000)(env.KV_TIMEOUT_MS),
    guardTimeoutMs: intVar("GUARD_TIMEOUT_MS", 3_000, 10, 30_000)(env.GUARD_TIMEOUT_MS),
    cacheTtlMs: intVar("CACHE_TTL_SECONDS", 30, 0, 3_600)(env.CACHE_TTL_SECONDS) * 1000,
    contextTtlSeconds: intVar("CONTEXT_TTL_SECONDS", 60, 5, 3_600)(env.CONTEXT_TTL_SECONDS),
    contextIssuer: str(env, "CONTEXT_ISSUER") ?? "keyward",
    signingKey,
    publishedKeys,
    operatorToken,
    userTokens: {
      jwksUrl,
      publicKey,
      devSecret: production ? null : devSecret,
      algorithms,
      issuer: str(env, "USER_TOKEN_ISSUER"),
      audience,
      clockSkewSeconds: intVar("USER_TOKEN_CLOCK_SKEW_SECONDS", 30, 0, 300)(env.USER_TOKEN_CLOCK_SKEW_SECONDS),
      jwksTimeoutMs,
      claims: claimNames(env),
    },
    leaks: {
      action: leakAction,
      githubKeysUrl: url(env, "GITHUB_SECRET_SCANNING_KEYS_URL") ?? GITHUB_SECRET_SCANNING_KEYS,
      githubKeysTimeoutMs: intVar("GITHUB_SECRET_SCANNING_KEYS_TIMEOUT_MS", 3_000, 50, 30_000)(env.GITHUB_SECRET_SCANNING_KEYS_TIMEOUT_MS),
      reportsPerMinute: intVar("LEAK_REPORTS_PER_MINUTE", 10, 1, 10_000)(env.LEAK_REPORTS_PER_MINUTE),
    },
  };
}
