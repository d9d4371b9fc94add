/** A bad CONSOLE_OIDC_* (or related) setting; config.ts turns it into its ConfigError. */
export class OidcConfigProblem extends Error {
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(problem);
    this.name = "OidcConfigProblem";
  }
}

/**
 * Signing in to the console with the identity provider (docs/console-in-your-app.md):
 * on when CONSOLE_OIDC_CLIENT_ID is set, for the provider USER_TOKEN_ISSUER names.
 */
export interface ConsoleOidcConfig {
  /** USER_TOKEN_ISSUER: the provider's issuer URL, as its discovery document and tokens must say it. */
  issuer: string;
  clientId: string;
  /** CONSOLE_OIDC_CLIENT_SECRET, for a confidential client; null: a public client (PKCE alone). */
  clientSecret: string | null;
  /** The name on the sign-in button ("Sign in with <name>"): CONSOLE_OIDC_PROVIDER_NAME, else the issuer's host. */
  providerName: string;
  /** What the authorization request asks for: `openid` and CONSOLE_OIDC_SCOPES. */
  scopes: string[];
  /** Sent as `resource` (RFC 8707) so that the access token is for the API (USER_TOKEN_AUDIENCE); null: not sent. */
  resource: string | null;
  /** Plain-http provider endpoints are for development only. */
  allowHttp: boolean;
  /** USER_JWKS_TIMEOUT_MS: how long a call to the provider (discovery, token endpoint) may take. */
  timeoutMs: number;
}

const CLIENT_ID = /^[\x21-\x7e]{1,255}$/;
const SCOPE = /^[\x21\x23-\x5b\x5d-\x7e]{1,64}$/;
// Shown on the button: plain words, no markup or control characters.
const NAME = /^[\p{L}\p{N} .,'&()_-]{1,40}$/u;

/** RFC 8707 wants an absolute URI without a fragment; an audience that is not one is not sent. */
function resourceOf(audience: string | null): string | null {
  if (audience === null) return null;
  try {
    return new URL(audience).hash === "" ? audience : null;
  } catch {
    return null;
  }
}

function setting(env: Record<string, unknown>, name: string): string | null {
  const raw = env[name];
  if (raw === undefined || raw === null || raw === "") return null;
  if (typeof raw !== "string") throw new OidcConfigProblem(name, "must be a string");
  return raw.trim();
}

/**
 * Reads the console's OpenID sign-in settings; null when CONSOLE_OIDC_CLIENT_ID is
 * not set. A half configuration is a start-up error naming the variable, never a
 * sign-in button that cannot work.
 */
export function parseConsoleOidc(
  env: Record<string, unknown>,
  context: { production: boolean; hasProviderKeys: boolean; audience: string | null; timeoutMs: number },
): ConsoleOidcConfig | null {
  const clientId = setting(env, "CONSOLE_OIDC_CLIENT_ID");
  const clientSecret = setting(env, "CONSOLE_OIDC_CLIENT_SECRET");
  if (clientId === null) {
    for (const name of ["CONSOLE_OIDC_CLIENT_SECRET", "CONSOLE_OIDC_PROVIDER_NAME", "CONSOLE_OIDC_SCOPES"]) {
      if (setting(env, name) !== null)
        throw new OidcConfigProblem(name, "is set but CONSOLE_OIDC_CLIENT_ID is not: set the console's client id too, or remove it");
    }
    return null;
  }
  if (!CLIENT_ID.test(clientId))
    throw new OidcConfigProblem(
      "CONSOLE_OIDC_CLIENT_ID",
      "must be the client id your identity provider gave the console (1-255 printable characters, no spaces)",
    );
  if (clientSecret !== null && clientSecret.length < 8)
    throw new OidcConfigProblem("CONSOLE_OIDC_CLIENT_SECRET", "is too short to be a client secret; leave it unset for a public client (PKCE)");

  const rawIssuer = setting(env, "USER_TOKEN_ISSUER");
  if (rawIssuer === null) {
    throw new OidcConfigProblem(
      "USER_TOKEN_ISSUER",
      "is required with CONSOLE_OIDC_CLIENT_ID: set it to your identity provider's issuer URL (its discovery document is read from there)",
    );
  }
  let issuerUrl: URL | null = null;
  try {
    issuerUrl = new URL(rawIssuer);
  } catch {}
  const httpOk = !context.production;
  if (
    issuerUrl === null ||
    !(issuerUrl.protocol === "https:" || (httpOk && issuerUrl.protocol === "http:")) ||
    issuerUrl.search !== "" ||
    issuerUrl.hash !== "" ||
    issuerUrl.username !== "" ||
    issuerUrl.password !== ""
  ) {
    throw new OidcConfigProblem(
      "USER_TOKEN_ISSUER",
      `must be the identity provider's issuer URL (https${httpOk ? ", or http in development" : ""}, no query) for CONSOLE_OIDC_CLIENT_ID, got ${JSON.stringify(rawIssuer)}`,
    );
  }
  if (!context.hasProviderKeys) {
    throw new OidcConfigProblem("CONSOLE_OIDC_CLIENT_ID", "needs the provider's keys to verify its ID tokens: set USER_JWKS_URL (or USER_PUBLIC_KEY)");
  }

  const name = setting(env, "CONSOLE_OIDC_PROVIDER_NAME") ?? issuerUrl.host;
  if (!NAME.test(name))
    throw new OidcConfigProblem("CONSOLE_OIDC_PROVIDER_NAME", "must be 1-40 letters, digits, spaces or . , ' & ( ) _ - (it is shown on the sign-in button)");

  const extra = (setting(env, "CONSOLE_OIDC_SCOPES") ?? "").split(/\s+/).filter((s) => s !== "");
  for (const scope of extra) {
    if (!SCOPE.test(scope))
      throw new OidcConfigProblem("CONSOLE_OIDC_SCOPES", `has ${JSON.stringify(scope)}; scopes are space-separated words without quotes or backslashes`);
  }
  return {
    issuer: rawIssuer,
    clientId,
    clientSecret,
    providerName: name,
    scopes: ["openid", ...extra.filter((s) => s !== "openid")],
    resource: resourceOf(context.audience),
    allowHttp: httpOk,
    timeoutMs: context.timeoutMs,
  };
}
