import { errors, type JWTVerifyGetKey, jwtVerify } from "jose";

/**
 * Origin-side helper: verifies `X-Keyward-Context` so that an origin can refuse
 * any request that did not come through Keyward. Runs anywhere jose runs (Node,
 * Workers, Deno, Bun).
 *
 *   import { createRemoteJWKSet } from "jose";
 *   const jwks = createRemoteJWKSet(new URL("https://gw.example.com/_keyward/.well-known/jwks.json"));
 *   const who = await verifyKeywardContext(request, { jwks });
 */
export interface VerifyContextOptions {
  /** Keyward's public keys: createRemoteJWKSet(jwks URL) or createLocalJWKSet(jwks). */
  jwks: JWTVerifyGetKey;
  /** Must match Keyward's CONTEXT_ISSUER (default "keyward"). */
  issuer?: string;
  clockToleranceSeconds?: number;
  /** For tests: the time to verify at. */
  currentDate?: Date;
}

export interface KeywardIdentity {
  org: string;
  keyId: string;
  environment: "live" | "test";
  requestId: string;
  user: string | null;
  permissions: string[] | null;
  /** The key's credits left after this request (the `credits` claim); null for a key without credits. */
  creditsRemaining: number | null;
  /** The key's metadata (the `meta` claim), as its admins set it; null for a key without. */
  meta: Record<string, unknown> | null;
}

function base64url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
}

/** The `htq` claim: base64url(SHA-256(the raw query without "?")), as Keyward signs it. */
async function queryHash(query: string): Promise<string> {
  return base64url(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(query))));
}

/**
 * Reads an `X-Keyward-User` (or any `X-Keyward-*` identity) header as Keyward
 * meant it. Keyward percent-encodes (UTF-8) every character outside printable
 * ASCII, and `%` itself, so a subject like `用户` arrives as `%E7%94%A8%E6%88%B7`
 * instead of raw bytes each runtime reads differently; plain ASCII subjects
 * arrive unchanged. The verified context token's `user` is already exact.
 */
export function decodeKeywardHeader(value: string): string {
  return decodeURIComponent(value);
}

/**
 * Decodes `X-Keyward-Meta` (base64url JSON) for origins that do not verify the
 * context token yet. Prefer `verifyKeywardContext(...).meta`: only the token is
 * signed, and only it proves the request came through Keyward.
 */
export function decodeKeywardMeta(value: string): Record<string, unknown> {
  const binary = atob(value.replace(/-/g, "+").replace(/_/g, "/"));
  const parsed: unknown = JSON.parse(new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0))));
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new ContextVerificationError("X-Keyward-Meta is not a JSON object");
  return parsed as Record<string, unknown>;
}

export class ContextVerificationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ContextVerificationError";
  }
}

export interface RequestLike {
  method: string;
  url: string;
  headers: { get(name: string): string | null };
}

export async function verifyKeywardContext(request: RequestLike, options: VerifyContextOptions): Promise<KeywardIdentity> {
  const token = request.headers.get("x-keyward-context");
  if (!token) throw new ContextVerificationError("no X-Keyward-Context header: the request did not come through Keyward");
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(token, options.jwks, {
      algorithms: ["ES256"],
      issuer: options.issuer ?? "keyward",
      audience: "keyward-origin",
      typ: "keyward-context+jwt",
      requiredClaims: ["exp", "iat", "sub", "jti"],
      clockTolerance: options.clockToleranceSeconds ?? 5,
      ...(options.currentDate ? { currentDate: options.currentDate } : {}),
    }));
  } catch (error) {
    const reason = error instanceof errors.JOSEError ? error.code : "invalid token";
    throw new ContextVerificationError(`X-Keyward-Context is not valid (${reason})`);
  }
  // Bound to one method, path and query: a context lifted from another request
  // (or the same request with other parameters) does not verify. The body is not
  // bound: Keyward streams it to the origin unread.
  const url = new URL(request.url);
  if (payload.htm !== request.method || payload.htp !== url.pathname) {
    throw new ContextVerificationError("X-Keyward-Context was issued for another method or path");
  }
  if (payload.htq !== (await queryHash(url.search.slice(1)))) {
    throw new ContextVerificationError("X-Keyward-Context was issued for another query string");
  }
  return {
    org: String(payload.org),
    keyId: String(payload.sub),
    environment: payload.env === "test" ? "test" : "live",
    requestId: String(payload.jti),
    user: typeof payload.user === "string" ? payload.user : null,
    permissions: Array.isArray(payload.permissions) ? payload.permissions.map(String) : null,
    creditsRemaining: typeof payload.credits === "number" ? payload.credits : null,
    meta: typeof payload.meta === "object" && payload.meta !== null && !Array.isArray(payload.meta) ? (payload.meta as Record<string, unknown>) : null,
  };
}
