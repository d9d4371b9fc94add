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
  // Bound to one method and path: a context lifted from another request does not verify.
  if (payload.htm !== request.method || payload.htp !== new URL(request.url).pathname) {
    throw new ContextVerificationError("X-Keyward-Context was issued for another method or path");
  }
  return {
    org: String(payload.org),
    keyId: String(payload.sub),
    environment: payload.env === "test" ? "test" : "live",
    requestId: String(payload.jti),
    user: typeof payload.user === "string" ? payload.user : null,
    permissions: Array.isArray(payload.permissions) ? payload.permissions.map(String) : null,
  };
}
