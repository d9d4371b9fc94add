import type { UserClaims, UserTokenVerifier } from "../authz/user-token";
import { KeywardError } from "../errors";
import type { ProviderTokens } from "./oidc-provider-client";

/** Why the provider's tokens sign nobody in; oidc-pages.ts turns each into a page. */
export type IdentityRefusal = "token_invalid" | "unavailable" | "nonce" | "no_org" | "no_role" | "subject_mismatch";

export class IdentityRefused extends Error {
  constructor(
    readonly refusal: IdentityRefusal,
    detail: string,
  ) {
    super(detail);
    this.name = "IdentityRefused";
  }
}

/** Who signed in: the session is made for exactly this. */
export interface SignedInIdentity {
  subject: string;
  org: string;
  role: string;
}

const ORG = /^[A-Za-z0-9_-]{1,128}$/;
const ROLE = /^[\x21-\x7e]{1,128}$/;

async function verified<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    // The verifier answers 503 when it cannot reach the keys (fail closed), 401 for a bad token.
    if (error instanceof KeywardError && error.status === 503) throw new IdentityRefused("unavailable", error.message);
    if (error instanceof KeywardError) throw new IdentityRefused("token_invalid", error.message);
    throw error;
  }
}

/**
 * Reads who signed in from the token endpoint's answer. The ID token is verified
 * exactly as user tokens are (the same keys, pinned algorithms, issuer, clock
 * skew and claim names), for the console's client id, and must carry the nonce
 * this sign-in sent. The org and role come from its claims; a provider that puts
 * them in the access token instead is read there, through the user-token
 * verifier unchanged (USER_TOKEN_AUDIENCE), so a session grants exactly what that
 * token would as a bearer token, and only for the same subject.
 */
export async function identityOf(
  tokens: ProviderTokens,
  expected: { clientId: string; nonce: string },
  verifier: UserTokenVerifier,
): Promise<SignedInIdentity> {
  const { claims, payload } = await verified(() => verifier.verifyIdToken(tokens.idToken, expected.clientId));
  // OpenID Connect Core 3.1.3.7: the nonce sent must come back (a token minted for another sign-in is refused).
  if (payload.nonce !== expected.nonce) throw new IdentityRefused("nonce", "the ID token's nonce is not this sign-in's");
  // With several audiences, the token must say it was issued to us (azp).
  if (Array.isArray(payload.aud) && payload.aud.length > 1 && payload.azp !== expected.clientId) {
    throw new IdentityRefused("token_invalid", "the ID token was issued to another client (azp)");
  }
  let source: UserClaims = claims;
  if (claims.org === null && tokens.accessToken !== null && tokens.accessToken.includes(".")) {
    const access = tokens.accessToken;
    source = await verified(() => verifier.verify(access));
    if (source.subject !== claims.subject) throw new IdentityRefused("subject_mismatch", "the access token is for another subject than the ID token");
  }
  if (source.org === null || !ORG.test(source.org)) throw new IdentityRefused("no_org", "neither token names an organisation the console can use");
  if (source.role === null || !ROLE.test(source.role)) throw new IdentityRefused("no_role", "the token names no role");
  return { subject: claims.subject, org: source.org, role: source.role };
}
