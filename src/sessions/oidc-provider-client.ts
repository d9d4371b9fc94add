import * as z from "zod";
import type { Logger } from "../log";
import { withTimeout } from "../timeout";
import type { ConsoleOidcConfig } from "./oidc-config";

/** Why a call to the identity provider gave nothing usable; oidc-pages.ts turns each into a page. */
export type ProviderFailure =
  /** Down, slow, or answering 5xx: try again later. */
  | "unreachable"
  /** Its discovery document does not match the configuration (issuer, no S256, plain http): the operator must fix it. */
  | "misconfigured"
  /** The token endpoint refused the code (used, expired, or not ours). */
  | "code_refused";

export class ProviderError extends Error {
  constructor(
    readonly failure: ProviderFailure,
    detail: string,
  ) {
    super(detail);
    this.name = "ProviderError";
  }
}

/** What Keyward uses of the provider's discovery document. */
export interface ProviderEndpoints {
  authorizationEndpoint: string;
  tokenEndpoint: string;
  /** token_endpoint_auth_methods_supported; null when the document does not say. */
  authMethods: string[] | null;
}

/** What the token endpoint answered. */
export interface ProviderTokens {
  idToken: string;
  accessToken: string | null;
}

const discoverySchema = z.object({
  issuer: z.string(),
  authorization_endpoint: z.string(),
  token_endpoint: z.string(),
  code_challenge_methods_supported: z.array(z.string()).optional(),
  response_types_supported: z.array(z.string()).optional(),
  token_endpoint_auth_methods_supported: z.array(z.string()).optional(),
});

const tokenSchema = z.object({ id_token: z.string().min(1).max(8192), access_token: z.string().max(8192).optional() });

/** A discovery document is used this long before it is read again. */
const DISCOVERY_MAX_AGE_MS = 10 * 60_000;

export interface ProviderClientOptions {
  config: ConsoleOidcConfig;
  fetch: typeof fetch;
  now: () => number;
  log: Logger;
}

/** The provider's discovery document and token endpoint, each call with the configured deadline and no redirects followed. */
export interface ProviderClient {
  endpoints(): Promise<ProviderEndpoints>;
  exchange(input: { code: string; verifier: string; redirectUri: string }): Promise<ProviderTokens>;
}

export function providerClient(options: ProviderClientOptions): ProviderClient {
  const { config } = options;
  // The value is cached, never a promise: on Workers one request must not await another's promise.
  let cached: { endpoints: ProviderEndpoints; until: number } | null = null;

  async function send(url: string, init: RequestInit, what: string): Promise<Response> {
    try {
      // Never follow a redirect: the endpoints are the discovery document's, or nothing.
      return await withTimeout(options.fetch(url, { ...init, redirect: "manual" }), config.timeoutMs, what);
    } catch (error) {
      options.log.error("oidc_provider_unreachable", { what, error: error instanceof Error ? error.name : "unknown" });
      throw new ProviderError("unreachable", `${what} did not answer`);
    }
  }

  const endpointUrl = (raw: string, field: string): string => {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new ProviderError("misconfigured", `discovery: ${field} is not a URL`);
    }
    if (url.protocol !== "https:" && !(config.allowHttp && url.protocol === "http:"))
      throw new ProviderError("misconfigured", `discovery: ${field} is not https`);
    return url.toString();
  };

  async function discover(): Promise<ProviderEndpoints> {
    const res = await send(`${config.issuer.replace(/\/$/, "")}/.well-known/openid-configuration`, { headers: { accept: "application/json" } }, "discovery");
    if (res.status >= 500 || res.status === 429) throw new ProviderError("unreachable", `discovery answered ${res.status}`);
    if (res.status !== 200) throw new ProviderError("misconfigured", `discovery answered ${res.status}`);
    const parsed = discoverySchema.safeParse(await res.json().catch(() => null));
    if (!parsed.success) throw new ProviderError("misconfigured", "discovery: not an OpenID provider configuration");
    const doc = parsed.data;
    // OpenID Connect Discovery 4.3: the document must name exactly the issuer it was read from.
    if (doc.issuer !== config.issuer) throw new ProviderError("misconfigured", "discovery: its issuer is not USER_TOKEN_ISSUER");
    // PKCE with S256 is required; a provider that lists its methods must list S256.
    if (doc.code_challenge_methods_supported !== undefined && !doc.code_challenge_methods_supported.includes("S256")) {
      throw new ProviderError("misconfigured", "discovery: the provider does not support PKCE with S256");
    }
    if (doc.response_types_supported !== undefined && !doc.response_types_supported.includes("code")) {
      throw new ProviderError("misconfigured", "discovery: the provider does not offer the authorization code flow");
    }
    return {
      authorizationEndpoint: endpointUrl(doc.authorization_endpoint, "authorization_endpoint"),
      tokenEndpoint: endpointUrl(doc.token_endpoint, "token_endpoint"),
      authMethods: doc.token_endpoint_auth_methods_supported ?? null,
    };
  }

  return {
    async endpoints() {
      const now = options.now();
      if (cached !== null && now < cached.until) return cached.endpoints;
      try {
        const endpoints = await discover();
        cached = { endpoints, until: now + DISCOVERY_MAX_AGE_MS };
        return endpoints;
      } catch (error) {
        if (error instanceof ProviderError && error.failure === "misconfigured") options.log.error("oidc_provider_misconfigured", { detail: error.message });
        throw error;
      }
    },

    async exchange({ code, verifier, redirectUri }) {
      const endpoints = await this.endpoints();
      const body = new URLSearchParams({ grant_type: "authorization_code", code, redirect_uri: redirectUri, code_verifier: verifier });
      const headers: Record<string, string> = { "content-type": "application/x-www-form-urlencoded", accept: "application/json" };
      if (config.clientSecret === null) body.set("client_id", config.clientId);
      else if (
        endpoints.authMethods !== null &&
        !endpoints.authMethods.includes("client_secret_basic") &&
        endpoints.authMethods.includes("client_secret_post")
      ) {
        body.set("client_id", config.clientId);
        body.set("client_secret", config.clientSecret);
      } else {
        // RFC 6749 2.3.1: the default, with both parts form-encoded first.
        const basic = `${encodeURIComponent(config.clientId)}:${encodeURIComponent(config.clientSecret)}`;
        headers.authorization = `Basic ${btoa(basic)}`;
      }
      const res = await send(endpoints.tokenEndpoint, { method: "POST", headers, body }, "token endpoint");
      if (res.status >= 500 || res.status === 429) throw new ProviderError("unreachable", `the token endpoint answered ${res.status}`);
      if (res.status !== 200) {
        const answer = (await res.json().catch(() => null)) as { error?: unknown } | null;
        const error = typeof answer?.error === "string" ? answer.error : "unknown";
        options.log.info("oidc_code_refused", { status: res.status, error: /^[a-z_]{1,64}$/.test(error) ? error : "unknown" });
        throw new ProviderError("code_refused", `the token endpoint answered ${res.status}`);
      }
      const parsed = tokenSchema.safeParse(await res.json().catch(() => null));
      if (!parsed.success) throw new ProviderError("misconfigured", "the token endpoint answered no ID token");
      return { idToken: parsed.data.id_token, accessToken: parsed.data.access_token ?? null };
    },
  };
}
