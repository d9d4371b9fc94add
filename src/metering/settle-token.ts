import { compactVerify, createLocalJWKSet } from "jose";
import { CONTEXT_AUDIENCE } from "../identity/context-token";

/** Whose hold a settle call names: the request its context token was minted for. */
export interface HoldRef {
  org: string;
  keyId: string;
  requestId: string;
}

/**
 * Verifies an X-Keyward-Context token presented back to Keyward by the origin
 * to settle a hold (docs/metering.md). Keyward checks its own signature (any key
 * of its JWKS: a rotation's previous key too), the issuer, audience and type,
 * but not `exp`: a stream may end long after its token's minute, and the hold's
 * own expiry is what bounds the call. Answers null for anything that does not
 * verify; never throws on input.
 */
export function settleTokenVerifier(options: { jwks: { keys: JsonWebKey[] }; issuer: string }): (token: string) => Promise<HoldRef | null> {
  const keys = createLocalJWKSet(options.jwks as Parameters<typeof createLocalJWKSet>[0]);
  return async (token) => {
    try {
      const { payload, protectedHeader } = await compactVerify(token, keys, { algorithms: ["ES256"] });
      if (protectedHeader.typ !== "keyward-context+jwt") return null;
      const claims = JSON.parse(new TextDecoder().decode(payload)) as Record<string, unknown>;
      if (claims.iss !== options.issuer || claims.aud !== CONTEXT_AUDIENCE) return null;
      const { org, sub, jti } = claims;
      if (typeof org !== "string" || typeof sub !== "string" || typeof jti !== "string") return null;
      return { org, keyId: sub, requestId: jti };
    } catch {
      return null;
    }
  };
}
