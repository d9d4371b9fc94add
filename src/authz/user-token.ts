import {
  createLocalJWKSet,
  decodeProtectedHeader,
  errors,
  importJWK,
  importSPKI,
  type JSONWebKeySet,
  type JWK,
  type JWTPayload,
  type JWTVerifyGetKey,
  jwtVerify,
} from "jose";
import { ConfigError, type UserTokenConfig } from "../config";
import { backendUnavailable, KeywardError } from "../errors";
import { isSafeIdentity } from "../identity/identity-headers";
import { SCOPE_PATTERN } from "../keys/key-model";
import type { Logger } from "../log";
import { remoteKeySet } from "./remote-key-set";

/** What Keyward takes from a verified user token (claim names are configurable). */
export interface UserClaims {
  subject: string;
  org: string | null;
  role: string | null;
  /** From the permissions claim (a list); null when absent. */
  permissions: string[] | null;
  /** From the scope claim (space-separated); null when absent. */
  scopes: string[] | null;
  /** Resource ids assigned to the user (claim `customer_ids` by default); null when absent. */
  resources: string[] | null;
  /** The application role naming a role preset (claim from the route policy's roleClaim). */
  appRole: string | null;
  /** When the token expires (ms since the epoch), from its required `exp` claim. */
  expiresAt: number;
}

export interface UserTokenVerifier {
  /** Verifies a user JWT. Throws 401 INVALID_USER_TOKEN, or 503 when the JWKS cannot be fetched. */
  verify(token: string): Promise<UserClaims>;
  /**
   * Verifies an OpenID ID token the same way (keys, pinned algorithms, issuer,
   * clock skew, claim names), for the audience `clientId` instead of
   * USER_TOKEN_AUDIENCE. Answers the claims and the payload (the caller checks
   * `nonce` and `azp`). Never used on the request path: the console's sign-in only.
   */
  verifyIdToken(token: string, clientId: string): Promise<{ claims: UserClaims; payload: JWTPayload }>;
}

export interface UserTokenVerifierOptions {
  config: UserTokenConfig;
  /** Claim holding the application role (route policy's roleClaim). */
  roleClaim?: string;
  log: Logger;
  /** How JWKS documents are fetched (tests count and fault it). */
  fetch?: typeof fetch;
  now?: () => number;
}

/** Longest token accepted; anything longer is refused before any parsing. */
const MAX_TOKEN_CHARS = 8192;
// A kid is only ever compared with the kids of the configured key set, never used
// as a path or URL. Base64 characters are allowed because providers use them
// (Amazon Cognito's kids are standard base64, with + / and =); quotes, spaces,
// control characters and anything long are not.
const KID_SHAPE = /^[A-Za-z0-9._:+/=-]{1,128}$/;
/** Headers that name a key or a key location: we only ever use the configured keys. */
const FORBIDDEN_HEADERS = ["jku", "jwk", "x5u", "x5c"];

const invalid = (message: string) =>
  new KeywardError("INVALID_USER_TOKEN", `The user token is not valid: ${message}. Sign in again to get a new token.`, { bearerError: "invalid_token" });

function listClaim(value: unknown, separator = false): string[] | null {
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === "string");
  if (separator && typeof value === "string") return value.split(" ").filter((v) => v !== "");
  return null;
}

/**
 * Permissions (and OAuth scopes) keep only the entries that are valid key scope
 * names; the rest are dropped, not refused. They travel space-separated in
 * X-Keyward-Permissions, so `"x customers:write"` would read as a grant of
 * `customers:write` to an origin that splits on spaces. Dropping can only take
 * permissions away (an entry no key scope or rule could name grants nothing
 * anyway), and providers put URL-shaped scopes (`https://api/x.read`) in tokens
 * that must keep working.
 */
function permissionClaim(value: unknown, separator = false): string[] | null {
  return listClaim(value, separator)?.filter((p) => SCOPE_PATTERN.test(p)) ?? null;
}

/** USER_PUBLIC_KEY: a PEM (SPKI) public key, one JWK, or a JWKS document. */
function publicKeySource(raw: string, alg: string): Promise<JWTVerifyGetKey | CryptoKey | Uint8Array> {
  const text = raw.trim();
  if (!text.startsWith("{")) return importSPKI(text, alg);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ConfigError("USER_PUBLIC_KEY", "must be a PEM public key (SPKI), a JWK or a JWKS document");
  }
  if (typeof json === "object" && json !== null && "keys" in json) return Promise.resolve(createLocalJWKSet(json as JSONWebKeySet));
  return importJWK(json as JWK, alg) as Promise<CryptoKey>;
}

/**
 * Builds the verifier once (bad configuration fails at start-up). Keys come from
 * exactly one source: a remote JWKS, a configured public key, or (development
 * only) an HMAC secret. Algorithms are pinned by configuration, never taken from
 * the token: `alg: none`, HS256 with the public key as secret, or any other
 * algorithm, is refused.
 */
export function userTokenVerifier(options: UserTokenVerifierOptions): UserTokenVerifier {
  const { config } = options;
  let keySource: Promise<JWTVerifyGetKey | CryptoKey | Uint8Array> | null = null;
  let fromJwks = false;

  if (config.jwksUrl !== null) {
    fromJwks = true;
    // At most one refetch per 30 s for an unknown kid, and one fetch at a time per
    // isolate: a random-kid flood costs a bounded number of fetches.
    keySource = Promise.resolve(
      remoteKeySet({
        url: config.jwksUrl,
        timeoutMs: config.jwksTimeoutMs,
        fetch: options.fetch ?? fetch,
        cooldownMs: 30_000,
        maxAgeMs: 600_000,
        ...(options.now ? { now: options.now } : {}),
      }),
    );
  } else if (config.publicKey !== null) {
    keySource = publicKeySource(config.publicKey, config.algorithms[0] as string);
    // Observed here so that a key that fails to import is not an unhandled
    // rejection; every verify awaits it again and answers 503.
    keySource.catch(() => {});
  } else if (config.devSecret !== null) {
    keySource = Promise.resolve(new TextEncoder().encode(config.devSecret));
  }

  async function check(token: string, audience: string | null): Promise<{ claims: UserClaims; payload: JWTPayload }> {
    if (keySource === null) throw invalid("this deployment does not accept user tokens");
    if (token.length > MAX_TOKEN_CHARS) throw invalid("it is too long");
    let header: ReturnType<typeof decodeProtectedHeader>;
    try {
      header = decodeProtectedHeader(token);
    } catch {
      throw invalid("it is not a well-formed JWT");
    }
    for (const name of FORBIDDEN_HEADERS) {
      if (name in header) throw invalid(`its "${name}" header is not accepted; keys come only from Keyward's configuration`);
    }
    if (header.kid !== undefined && (typeof header.kid !== "string" || !KID_SHAPE.test(header.kid))) throw invalid("its key id (kid) is not acceptable");
    if (typeof header.alg !== "string" || !config.algorithms.includes(header.alg)) {
      throw invalid(`it is signed with ${JSON.stringify(header.alg)}; accepted: ${config.algorithms.join(", ")}`);
    }

    let backendFailed = false;
    const source = await keySource.catch(() => {
      // A configured key that does not import: nothing can be verified (fail closed).
      options.log.error("user_public_key_unusable", {});
      throw backendUnavailable("the configured user token key (USER_PUBLIC_KEY does not import)", 60);
    });
    const key =
      typeof source === "function"
        ? async (...args: Parameters<JWTVerifyGetKey>) => {
            try {
              return await source(...args);
            } catch (error) {
              // A missing kid is the token's fault; a JWKS we cannot fetch is ours (503).
              if (!(error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys)) backendFailed = true;
              throw error;
            }
          }
        : source;
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, key as JWTVerifyGetKey, {
        algorithms: config.algorithms,
        requiredClaims: ["exp"],
        clockTolerance: config.clockSkewSeconds,
        ...(config.issuer !== null ? { issuer: config.issuer } : {}),
        ...(audience !== null ? { audience } : {}),
        ...(options.now ? { currentDate: new Date(options.now()) } : {}),
      }));
    } catch (error) {
      if (backendFailed) {
        options.log.error("jwks_unavailable", { error: error instanceof Error ? error.name : "unknown" });
        throw backendUnavailable(fromJwks ? "the identity provider's key set (JWKS)" : "the user token key", 5);
      }
      const reason =
        error instanceof errors.JWTExpired
          ? "it has expired"
          : error instanceof errors.JWTClaimValidationFailed
            ? `its "${error.claim}" claim is wrong or missing`
            : error instanceof errors.JWKSNoMatchingKey
              ? "it was signed by an unknown key"
              : "its signature or format is wrong";
      throw invalid(reason);
    }

    const { claims } = config;
    const subject = payload[claims.subject];
    if (typeof subject !== "string" || subject === "") throw invalid(`its "${claims.subject}" claim is missing`);
    // Decided here, before the key's guard is asked: a subject that cannot be an
    // identity header (CR/LF, other controls, bidi controls) is the token's fault,
    // refused as 401 without spending quota, never a 500 after admission.
    if (!isSafeIdentity(subject)) throw invalid(`its "${claims.subject}" claim cannot identify a user (control or bidi characters, or over 1024 characters)`);
    const org = payload[claims.org];
    const role = payload[claims.role];
    const read: UserClaims = {
      subject,
      org: typeof org === "string" ? org : null,
      role: typeof role === "string" ? role : null,
      permissions: permissionClaim(payload[claims.permissions]),
      scopes: permissionClaim(payload[claims.scope], true),
      resources: listClaim(payload[claims.resources]),
      appRole: typeof payload[options.roleClaim ?? "role"] === "string" ? (payload[options.roleClaim ?? "role"] as string) : null,
      // jwtVerify was told `exp` is required, so it is a number here.
      expiresAt: (payload.exp as number) * 1000,
    };
    return { claims: read, payload };
  }

  return {
    verify: async (token) => (await check(token, config.audience)).claims,
    verifyIdToken: (token, clientId) => check(token, clientId),
  };
}
