import { exportJWK, generateKeyPair, type JWK, SignJWT } from "jose";

export const IDP = "https://idp.test";
export const CLIENT_ID = "keyward-console";
export const API_AUDIENCE = "https://api.test";

/** The Worker variables of a deployment whose console signs in at the fake provider. */
export const OIDC_VARS = {
  USER_JWKS_URL: `${IDP}/jwks`,
  USER_TOKEN_ISSUER: IDP,
  USER_TOKEN_AUDIENCE: API_AUDIENCE,
  USER_JWT_ALGORITHMS: "RS256",
  USER_JWKS_TIMEOUT_MS: "500",
  CONSOLE_OIDC_CLIENT_ID: CLIENT_ID,
  CONSOLE_OIDC_PROVIDER_NAME: "Test IdP",
};

/** What a code the test "approves" at the provider will yield. */
export interface Approval {
  sub?: string;
  /** Claims of the ID token beyond iss, aud, sub, exp, iat and nonce. */
  idClaims?: Record<string, unknown>;
  /** Claims of a JWT access token; absent: an opaque access token. */
  accessClaims?: Record<string, unknown>;
  /** Overrides of the ID token's standard claims (nonce, aud, iss, …). */
  idOverrides?: Record<string, unknown>;
  /** Sign the ID token with a key the JWKS does not hold. */
  foreignKey?: boolean;
}

/**
 * An OpenID provider in the test's own process, reached through Keyward's
 * provider fetch: discovery, JWKS and a token endpoint that checks what a real
 * one does (the code once, PKCE S256, the redirect URI, the client). The test
 * plays the browser at the authorization endpoint: `approve` turns the
 * authorization request Keyward sent into a code.
 */
export async function fakeIdp() {
  const { privateKey, publicKey } = await generateKeyPair("RS256", { extractable: true });
  const foreign = await generateKeyPair("RS256", { extractable: true });
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid: "idp-1", alg: "RS256", use: "sig" };
  const codes = new Map<string, { challenge: string; nonce: string; redirectUri: string; approval: Approval }>();
  const calls = { discovery: 0, jwks: 0, token: 0 };
  const faults = { discovery: null as null | "down" | "500" | Record<string, unknown>, token: null as null | "500" };
  const seen: { tokenBodies: URLSearchParams[] } = { tokenBodies: [] };

  const sign = (claims: Record<string, unknown>, key: CryptoKey = privateKey, kid = "idp-1") =>
    new SignJWT(claims).setProtectedHeader({ alg: "RS256", kid }).sign(key);

  async function tokenEndpoint(body: URLSearchParams): Promise<Response> {
    calls.token++;
    seen.tokenBodies.push(body);
    if (faults.token === "500") return new Response("oops", { status: 500 });
    const code = body.get("code") ?? "";
    const entry = codes.get(code);
    // A code works once, like at a real provider.
    codes.delete(code);
    if (entry === undefined || body.get("grant_type") !== "authorization_code" || body.get("client_id") !== CLIENT_ID) {
      return Response.json({ error: "invalid_grant" }, { status: 400 });
    }
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(body.get("code_verifier") ?? "")));
    const challenge = btoa(String.fromCharCode(...digest))
      .replace(/=+$/, "")
      .replace(/\+/g, "-")
      .replace(/\//g, "_");
    if (challenge !== entry.challenge || body.get("redirect_uri") !== entry.redirectUri) return Response.json({ error: "invalid_grant" }, { status: 400 });
    const now = Math.floor(Date.now() / 1000);
    const { approval } = entry;
    const sub = approval.sub ?? "ada@customer.example";
    const idToken = await sign(
      { iss: IDP, aud: CLIENT_ID, sub, iat: now, exp: now + 300, nonce: entry.nonce, ...approval.idClaims, ...approval.idOverrides },
      approval.foreignKey ? foreign.privateKey : privateKey,
    );
    const accessToken = approval.accessClaims
      ? await sign({ iss: IDP, aud: API_AUDIENCE, sub, iat: now, exp: now + 300, ...approval.accessClaims })
      : "opaque-access-token";
    return Response.json({ token_type: "Bearer", id_token: idToken, access_token: accessToken, expires_in: 300 });
  }

  const fetcher = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input, init);
    const url = new URL(request.url);
    if (url.pathname === "/.well-known/openid-configuration") {
      calls.discovery++;
      if (faults.discovery === "down") throw new TypeError("connect ECONNREFUSED");
      if (faults.discovery === "500") return new Response("down", { status: 500 });
      return Response.json({
        issuer: IDP,
        authorization_endpoint: `${IDP}/authorize`,
        token_endpoint: `${IDP}/token`,
        jwks_uri: `${IDP}/jwks`,
        response_types_supported: ["code"],
        code_challenge_methods_supported: ["S256"],
        token_endpoint_auth_methods_supported: ["none", "client_secret_basic"],
        ...(typeof faults.discovery === "object" ? faults.discovery : {}),
      });
    }
    if (url.pathname === "/jwks") {
      calls.jwks++;
      return Response.json({ keys: [jwk] });
    }
    if (url.pathname === "/token" && request.method === "POST") return tokenEndpoint(new URLSearchParams(await request.text()));
    return new Response("not found", { status: 404 });
  }) as typeof fetch;

  return {
    fetch: fetcher,
    calls,
    faults,
    seen,
    /** Plays the user approving at the authorization endpoint Keyward redirected to: answers the code. */
    approve(authorizeUrl: string, approval: Approval = {}): string {
      const q = new URL(authorizeUrl).searchParams;
      const code = `code_${crypto.randomUUID()}`;
      codes.set(code, { challenge: q.get("code_challenge") ?? "", nonce: q.get("nonce") ?? "", redirectUri: q.get("redirect_uri") ?? "", approval });
      return code;
    },
  };
}
