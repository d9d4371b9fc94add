import { base64url } from "../encoding/bytes";
import type { PublishedKey } from "./published-keys";
/**
 * `X-Keyward-Context`: a short-lived ES256 JWT that says "Keyward authenticated
 * this request". The origin verifies it against the public JWKS that Keyward
 * serves, and checks that it was minted for this very method, path and query
 * (`htm`, `htp`, and `htq`: the SHA-256 of the raw query, base64url), so a
 * context lifted from one request cannot be replayed on another. The body is
 * not bound: Keyward never reads request bodies (they stream to the origin).
 */
export interface ContextClaims {
  org: string;
  keyId: string;
  environment: "live" | "test";
  requestId: string;
  method: string;
  path: string;
  /** The raw query string the origin receives, without the `?` ("" when none). */
  query: string;
  user: string | null;
  permissions: string[] | null;
  /** The key's credits left after this request; null for a key without credits. */
  creditsRemaining: number | null;
  /** The key's metadata; null for a key without. */
  meta: Record<string, unknown> | null;
}

export interface ContextSignerOptions {
  privateJwk: JsonWebKey & { kid: string };
  issuer: string;
  ttlSeconds: number;
  now: () => number;
  /** Public keys served in the JWKS beside the signing key's, never used to sign (a rotation's next or previous key). */
  publishedKeys?: PublishedKey[];
}

export const CONTEXT_AUDIENCE = "keyward-origin";

export interface ContextSigner {
  sign(claims: ContextClaims): Promise<string>;
  /** The public half, and any published keys, as served at /_keyward/.well-known/jwks.json. */
  jwks: { keys: JsonWebKey[] };
}

const encoder = new TextEncoder();

/** `htq`: base64url(SHA-256(raw query without "?")). keyward/origin computes the same. */
export async function queryHash(query: string): Promise<string> {
  // Most requests have no query: its hash is a constant, worked out once per
  // isolate (kept as a string, not a promise: no request waits on another's I/O).
  if (query !== "") return digestBase64url(query);
  emptyQueryHash ??= await digestBase64url("");
  return emptyQueryHash;
}
let emptyQueryHash: string | null = null;

async function digestBase64url(text: string): Promise<string> {
  return base64url(new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(text))));
}

/**
 * Signs with WebCrypto directly rather than through jose's SignJWT: this runs on
 * every proxied request, and the generic path (header and claim builders,
 * validation, re-encoding) cost about as much again as the signature itself
 * (docs/performance.md). WebCrypto's ECDSA output (r || s) is exactly JWS ES256.
 * Tests verify the result with jose, as origins will.
 */
export function contextSigner(options: ContextSignerOptions): ContextSigner {
  const { d: _private, ...publicJwk } = options.privateJwk;
  const jwks = { keys: [publicJwk, ...(options.publishedKeys ?? [])].map((key) => ({ ...key, alg: "ES256", use: "sig" })) };
  const header = base64url(encoder.encode(JSON.stringify({ alg: "ES256", kid: options.privateJwk.kid, typ: "keyward-context+jwt" })));
  let key: Promise<CryptoKey> | null = null;
  return {
    jwks,
    async sign(claims) {
      key ??= crypto.subtle.importKey("jwk", { ...options.privateJwk, key_ops: ["sign"] }, { name: "ECDSA", namedCurve: "P-256" }, false, ["sign"]);
      const iat = Math.floor(options.now() / 1000);
      const payload: Record<string, unknown> = {
        iss: options.issuer,
        aud: CONTEXT_AUDIENCE,
        sub: claims.keyId,
        jti: claims.requestId,
        iat,
        exp: iat + options.ttlSeconds,
        org: claims.org,
        env: claims.environment,
        htm: claims.method,
        htp: claims.path,
        htq: await queryHash(claims.query),
      };
      if (claims.user !== null) payload.user = claims.user;
      if (claims.permissions !== null) payload.permissions = claims.permissions;
      if (claims.creditsRemaining !== null) payload.credits = claims.creditsRemaining;
      if (claims.meta !== null) payload.meta = claims.meta;
      const signingInput = `${header}.${base64url(encoder.encode(JSON.stringify(payload)))}`;
      const signature = await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, await key, encoder.encode(signingInput));
      return `${signingInput}.${base64url(new Uint8Array(signature))}`;
    },
  };
}
