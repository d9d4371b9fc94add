// A plain Node origin behind Keyward: verifies X-Keyward-Context with jose
// directly (no keyward/origin helper), as any JavaScript origin can.
//
//   KEYWARD_URL=https://api.example.com PORT=3000 node origin.mjs
//
// Every request must carry a context token that Keyward signed for this very
// method, path and query (docs/origin.md); anything else gets 401.
import { createHash } from "node:crypto";
import { createServer } from "node:http";
import { createRemoteJWKSet, jwtVerify } from "jose";

const KEYWARD_URL = process.env.KEYWARD_URL;
if (!KEYWARD_URL) throw new Error("set KEYWARD_URL to the Keyward deployment in front of this origin");
// CONTEXT_ISSUER of the Keyward deployment ("keyward" unless it was changed).
const ISSUER = process.env.KEYWARD_ISSUER ?? "keyward";

// Cached; fetched again when a token names an unknown kid (a rotated signing key).
const jwks = createRemoteJWKSet(new URL("/_keyward/.well-known/jwks.json", KEYWARD_URL));

/** The htq claim: base64url (no padding) of SHA-256 of the raw query, without "?". */
const queryHash = (rawQuery) => createHash("sha256").update(rawQuery, "utf8").digest("base64url");

/**
 * The verified claims, or throws.
 * @param {string | undefined} token
 * @param {string} method
 * @param {string} target  the raw request target (req.url): not percent-decoded
 */
async function verifyContext(token, method, target) {
  if (!token) throw new Error("no X-Keyward-Context: the request did not come through Keyward");
  const { payload } = await jwtVerify(token, jwks, {
    algorithms: ["ES256"],
    issuer: ISSUER,
    audience: "keyward-origin",
    typ: "keyward-context+jwt",
    requiredClaims: ["exp", "iat", "sub", "jti", "htm", "htp", "htq"],
    clockTolerance: 5,
  });
  const at = target.indexOf("?");
  const path = at === -1 ? target : target.slice(0, at);
  const query = at === -1 ? "" : target.slice(at + 1);
  if (payload.htm !== method || payload.htp !== path) throw new Error("issued for another method or path");
  if (payload.htq !== queryHash(query)) throw new Error("issued for another query string");
  return payload;
}

const port = Number(process.env.PORT ?? 3000);
createServer(async (req, res) => {
  let claims;
  try {
    claims = await verifyContext(req.headers["x-keyward-context"], req.method ?? "", req.url ?? "");
  } catch (error) {
    res.writeHead(401, { "content-type": "application/json" });
    res.end(JSON.stringify({ error: "not through Keyward", reason: error instanceof Error ? error.message : String(error) }));
    return;
  }
  res.writeHead(200, { "content-type": "application/json" });
  res.end(
    JSON.stringify({
      verifiedBy: "node",
      org: claims.org,
      keyId: claims.sub,
      environment: claims.env,
      requestId: claims.jti,
      method: claims.htm,
      path: claims.htp,
      user: claims.user ?? null,
      permissions: claims.permissions ?? null,
      credits: claims.credits ?? null,
      meta: claims.meta ?? null,
    }),
  );
}).listen(port, "127.0.0.1", () => console.log(`node origin listening on http://127.0.0.1:${port}`));
