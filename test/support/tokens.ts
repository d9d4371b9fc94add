import { env } from "cloudflare:workers";
import { SignJWT } from "jose";

export interface DevTokenOptions {
  org: string;
  role?: string;
  sub?: string;
  expiresIn?: number;
  extra?: Record<string, unknown>;
  header?: Record<string, unknown>;
  secret?: string;
  omitExp?: boolean;
}

/** A user token as `keyward token` would mint it locally (HS256 with the dev secret). */
export async function devToken(options: DevTokenOptions): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT({ org_id: options.org, org_role: options.role ?? "org:admin", ...options.extra })
    .setProtectedHeader({ alg: "HS256", ...options.header })
    .setSubject(options.sub ?? "user_1")
    .setIssuedAt(now);
  if (!options.omitExp) jwt.setExpirationTime(now + (options.expiresIn ?? 600));
  return jwt.sign(new TextEncoder().encode(options.secret ?? env.KEYWARD_DEV_JWT_SECRET));
}
