// The admin API authenticated against a remote JWKS (threats.md 33-35 applied to
// admin tokens): the identity provider's keys, its outages, and floods of
// unknown key ids. Nothing may be created or changed on any refusal.
import { exportJWK, generateKeyPair, type JWK, SignJWT } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { harness } from "./support/harness";

const ISSUER = "https://idp.test/";
const AUDIENCE = "https://keyward.admin.test";
const JWKS_URL = "https://idp.test/.well-known/jwks.json";
const VARS = { USER_JWKS_URL: JWKS_URL, USER_TOKEN_ISSUER: ISSUER, USER_TOKEN_AUDIENCE: AUDIENCE, USER_JWT_ALGORITHMS: "RS256", USER_JWKS_TIMEOUT_MS: "200" };

let privateKey: CryptoKey;
let jwk: JWK;

beforeAll(async () => {
  const pair = await generateKeyPair("RS256", { extractable: true });
  privateKey = pair.privateKey;
  jwk = { ...(await exportJWK(pair.publicKey)), kid: "admin-idp-1", alg: "RS256", use: "sig" };
});

function idp(mode: "ok" | "down") {
  const urls: string[] = [];
  const fetchJwks = (async (input: RequestInfo | URL) => {
    urls.push(input instanceof Request ? input.url : String(input));
    if (mode === "down") throw new TypeError("connect ECONNREFUSED");
    return Response.json({ keys: [jwk] });
  }) as typeof fetch;
  return { fetch: fetchJwks, urls };
}

async function adminToken(org: string, kid = "admin-idp-1", header: Record<string, unknown> = {}) {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ org_id: org, org_role: "org:admin" })
    .setProtectedHeader({ alg: "RS256", kid, ...header })
    .setSubject("admin_1")
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt(now)
    .setExpirationTime(now + 300)
    .sign(privateKey);
}

const create = (h: ReturnType<typeof harness>, org: string, token: string) =>
  h.send(`/_keyward/v1/orgs/${org}/keys`, { method: "POST", headers: { authorization: `Bearer ${token}` }, body: '{"label":"x"}' });

describe("admin API with a remote JWKS", () => {
  it("accepts an org admin's token signed by the identity provider", async () => {
    const provider = idp("ok");
    const h = harness({ vars: VARS, jwksFetch: provider.fetch });
    const res = await create(h, "org_jwks", await adminToken("org_jwks"));
    expect(res.status).toBe(201);
    expect(provider.urls).toEqual([JWKS_URL]);
  });

  it("answers 503 with Retry-After, not 401, when the JWKS endpoint is down, and creates nothing", async () => {
    const h = harness({ vars: VARS, jwksFetch: idp("down").fetch });
    const res = await create(h, "org_down", await adminToken("org_down"));
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).not.toBeNull();
    const up = harness({ vars: VARS, jwksFetch: idp("ok").fetch });
    const list = await up.send("/_keyward/v1/orgs/org_down/keys", { headers: { authorization: `Bearer ${await adminToken("org_down")}` } });
    expect(((await list.json()) as { keys: unknown[] }).keys).toEqual([]);
  });

  it("bounds JWKS fetches under a flood of random key ids, and fetches only the configured URL", async () => {
    const provider = idp("ok");
    const h = harness({ vars: VARS, jwksFetch: provider.fetch });
    const statuses = await Promise.all(
      Array.from({ length: 40 }, async () => (await create(h, "org_flood", await adminToken("org_flood", crypto.randomUUID()))).status),
    );
    expect(new Set(statuses)).toEqual(new Set([401]));
    expect(provider.urls.length).toBeLessThanOrEqual(2);
    expect(new Set(provider.urls)).toEqual(new Set([JWKS_URL]));
  });

  it("ignores key locations a token names (jku, x5u) and never fetches them", async () => {
    const provider = idp("ok");
    const h = harness({ vars: VARS, jwksFetch: provider.fetch });
    for (const header of [{ jku: "https://evil.example/jwks.json" }, { x5u: "https://evil.example/cert.pem" }]) {
      expect((await create(h, "org_jku", await adminToken("org_jku", "admin-idp-1", header))).status).toBe(401);
    }
    expect(provider.urls.every((u) => u === JWKS_URL)).toBe(true);
  });
});

describe("admin API with a configured public key (USER_PUBLIC_KEY)", () => {
  const vars = (key: string) => ({ USER_PUBLIC_KEY: key, USER_TOKEN_ISSUER: ISSUER, USER_TOKEN_AUDIENCE: AUDIENCE, USER_JWT_ALGORITHMS: "RS256" });

  it("accepts a JWKS document as well as a single JWK", async () => {
    for (const key of [JSON.stringify({ keys: [jwk] }), JSON.stringify(jwk)]) {
      const h = harness({ vars: vars(key) });
      expect((await create(h, "org_pk", await adminToken("org_pk"))).status).toBe(201);
    }
  });

  it("refuses to start with a value that is neither PEM nor JSON, naming the variable", () => {
    expect(() => harness({ vars: vars("{not json") })).toThrow(/USER_PUBLIC_KEY must be a PEM public key/);
  });

  it("answers 503, never a 500 or a pass, when the configured key does not import", async () => {
    const h = harness({ vars: vars("-----BEGIN PUBLIC KEY-----\nbm90IGEga2V5\n-----END PUBLIC KEY-----") });
    const res = await create(h, "org_pk", await adminToken("org_pk"));
    expect(res.status).toBe(503);
    expect(((await res.json()) as { code: string }).code).toBe("AUTH_BACKEND_UNAVAILABLE");
  });
});
