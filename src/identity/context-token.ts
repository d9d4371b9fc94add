import { importJWK, SignJWT } from "jose";

/**
 * `X-Keyward-Context`: a short-lived ES256 JWT that says "Keyward authenticated
 * this request". The origin verifies it against the public JWKS that Keyward
 * serves, and checks that it was minted for this very method and path (`htm`,
 * `htp`), so a context lifted from one request cannot be replayed on another.
 */
export interface ContextClaims {
  org: string;
  keyId: string;
  environment: "live" | "test";
  requestId: string;
  method: string;
  path: string;
  user: string | null;
  permissions: string[] | null;
}

export interface ContextSignerOptions {
  privateJwk: JsonWebKey & { kid: string };
  issuer: string;
  ttlSeconds: number;
  now: () => number;
}

export const CONTEXT_AUDIENCE = "keyward-origin";

export interface ContextSigner {
  sign(claims: ContextClaims): Promise<string>;
  /** The public half, as served at /_keyward/.well-known/jwks.json. */
  jwks: { keys: JsonWebKey[] };
}

export function contextSigner(options: ContextSignerOptions): ContextSigner {
  const { d: _private, ...publicJwk } = options.privateJwk;
  const jwks = { keys: [{ ...publicJwk, alg: "ES256", use: "sig" }] };
  let key: Promise<CryptoKey | Uint8Array> | null = null;
  return {
    jwks,
    async sign(claims) {
      key ??= importJWK(options.privateJwk, "ES256");
      const iat = Math.floor(options.now() / 1000);
      const payload: Record<string, unknown> = {
        org: claims.org,
        env: claims.environment,
        htm: claims.method,
        htp: claims.path,
      };
      if (claims.user !== null) payload.user = claims.user;
      if (claims.permissions !== null) payload.permissions = claims.permissions;
      return new SignJWT(payload)
        .setProtectedHeader({ alg: "ES256", kid: options.privateJwk.kid, typ: "keyward-context+jwt" })
        .setIssuer(options.issuer)
        .setAudience(CONTEXT_AUDIENCE)
        .setSubject(claims.keyId)
        .setJti(claims.requestId)
        .setIssuedAt(iat)
        .setExpirationTime(iat + options.ttlSeconds)
        .sign(await key);
    },
  };
}
