// User tokens and permissions through the whole gateway (threats.md 31-40): real
// RS256 tokens signed here with jose, a JWKS served by a counting fake identity
// provider, real local KV and key guards. Every refusal also asserts that the
// origin was never called.
import { createLocalJWKSet, exportJWK, exportSPKI, generateKeyPair, type JWK, SignJWT, UnsecuredJWT } from "jose";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { generateKey } from "../src/keys/key-format";
import { verifyKeywardContext } from "../src/origin/verify-context";
import { guardStub, harness, seedKey } from "./support/harness";

type Echo = { method: string; path: string; headers: Record<string, string> };

const ISSUER = "https://idp.test/";
const AUDIENCE = "https://api.example.test";
const JWKS_URL = "https://idp.test/.well-known/jwks.json";
const ORG = "org_acme";

const VARS = {
  USER_JWKS_URL: JWKS_URL,
  USER_TOKEN_ISSUER: ISSUER,
  USER_TOKEN_AUDIENCE: AUDIENCE,
  USER_JWT_ALGORITHMS: "RS256",
  USER_TOKEN_CLOCK_SKEW_SECONDS: "30",
  USER_JWKS_TIMEOUT_MS: "200",
};

/** The route policy of these tests: a toy "things" API and the customer/subscription API of the role presets. */
const POLICY = {
  rules: [
    { method: "GET", path: "/things", permission: "read" },
    { method: "POST", path: "/admin/reindex", permission: "admin" },
    { method: "GET", path: "/customers", permission: "customers:read" },
    { method: ["GET", "HEAD"], path: "/customers/:customerId", permission: "customers:read", resource: "customerId" },
    { method: ["PUT", "PATCH", "DELETE"], path: "/customers/:customerId", permission: "customers:write", resource: "customerId" },
    { method: "GET", path: "/customers/:customerId/subscriptions", permission: "subscriptions:read", resource: "customerId" },
    { method: "POST", path: "/customers/:customerId/subscriptions", permission: "subscriptions:write", resource: "customerId" },
  ],
};

interface SigningKey {
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  jwk: JWK;
}

let idpKey: SigningKey; // published in the JWKS
let strangerKey: SigningKey; // nobody publishes it
let ecKey: SigningKey; // published in the JWKS, but ES256 is not a pinned algorithm

async function signingKey(alg: "RS256" | "ES256", kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { privateKey, publicKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: "sig" } };
}

beforeAll(async () => {
  idpKey = await signingKey("RS256", "idp-key-1");
  strangerKey = await signingKey("RS256", "stranger-key");
  ecKey = await signingKey("ES256", "idp-ec-1");
});

afterEach(() => vi.restoreAllMocks());

type JwksMode = "ok" | "down" | "error500" | "slow" | "redirect" | "garbage";

/** A fake identity provider's JWKS endpoint that records every URL it is asked for. */
function identityProvider(mode: JwksMode = "ok") {
  const seen: { url: string; redirect: string | undefined }[] = [];
  const fetchJwks = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = input instanceof Request ? input.url : String(input);
    seen.push({ url, redirect: init?.redirect });
    switch (mode) {
      case "ok":
        return Response.json({ keys: [idpKey.jwk, ecKey.jwk] });
      case "down":
        throw new TypeError("connect ECONNREFUSED");
      case "error500":
        return new Response("upstream error", { status: 500 });
      case "garbage":
        return new Response("<html>login</html>", { status: 200, headers: { "content-type": "text/html" } });
      case "redirect":
        return new Response(null, { status: 302, headers: { location: "https://evil.example/jwks.json" } });
      case "slow":
        // Answers only when aborted, like a real fetch to an endpoint that never replies.
        return new Promise<Response>((_, reject) => {
          const signal = init?.signal;
          if (!signal) return;
          signal.addEventListener("abort", () => reject(signal.reason));
        });
    }
  }) as typeof fetch;
  return {
    fetch: fetchJwks,
    seen,
    get count() {
      return seen.length;
    },
  };
}

interface TokenOptions {
  /** Claims to add or override; a value of undefined removes the claim. */
  claims?: Record<string, unknown>;
  header?: Record<string, unknown>;
  key?: SigningKey;
  alg?: string;
}

/** A user token as the identity provider would issue it: RS256, kid, iss, aud, exp in 5 minutes. */
async function userToken(options: TokenOptions = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const key = options.key ?? idpKey;
  const base: Record<string, unknown> = { sub: "user_alice", org_id: ORG, iss: ISSUER, aud: AUDIENCE, iat: now, exp: now + 300 };
  const claims = Object.fromEntries(Object.entries({ ...base, ...options.claims }).filter(([, v]) => v !== undefined));
  return new SignJWT(claims).setProtectedHeader({ alg: options.alg ?? (key.jwk.alg as string), kid: key.jwk.kid, ...options.header }).sign(key.privateKey);
}

const b64url = (text: string) => btoa(text).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");

async function hs256(secret: string, claims: Record<string, unknown>, kid = idpKey.jwk.kid): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: "HS256", kid }).sign(new TextEncoder().encode(secret));
}

function validClaims(extra: Record<string, unknown> = {}) {
  const now = Math.floor(Date.now() / 1000);
  return { sub: "user_alice", org_id: ORG, iss: ISSUER, aud: AUDIENCE, iat: now, exp: now + 300, ...extra };
}

async function errorOf(res: Response) {
  return (await res.json()) as { code: string; message: string; requestId: string };
}

function setup(options: { mode?: JwksMode; vars?: Record<string, unknown>; policy?: unknown } = {}) {
  const idp = identityProvider(options.mode);
  const h = harness({ vars: { ...VARS, ...options.vars }, policy: options.policy === undefined ? POLICY : options.policy, jwksFetch: idp.fetch });
  /** Sends the key in X-API-Key and the user token as a Bearer token. */
  const dual = (key: string, token: string, path = "/things", init: RequestInit = {}) =>
    h.send(path, { ...init, headers: { "x-api-key": key, authorization: `Bearer ${token}`, ...(init.headers as Record<string, string>) } });
  return { h, idp, dual };
}

async function expectRefused(res: Response, status: number, code: string, h: ReturnType<typeof harness>) {
  expect(res.status).toBe(status);
  const body = await errorOf(res);
  expect(body.code).toBe(code);
  expect(res.headers.get("cache-control")).toBe("no-store");
  expect(h.calls.origin).toHaveLength(0);
  return body;
}

describe("a valid user token narrows the key and reaches the origin as identity", () => {
  it("forwards X-Keyward-User and X-Keyward-Permissions, and signs both into X-Keyward-Context", async () => {
    const { h, idp, dual } = setup();
    const { key, record } = await seedKey({ org: ORG, scopes: ["read", "write"] });
    const res = await dual(key, await userToken({ claims: { permissions: ["write", "read", "admin"] } }));
    expect(res.status).toBe(200);
    const seen = (await res.json()) as Echo;
    expect(seen.headers["x-keyward-user"]).toBe("user_alice");
    expect(seen.headers["x-keyward-permissions"]).toBe("read write");
    expect(seen.headers.authorization).toBeUndefined();
    expect(seen.headers["x-api-key"]).toBeUndefined();
    expect(idp.seen.map((s) => s.url)).toEqual([JWKS_URL]);

    const jwks = createLocalJWKSet(await (await h.send("/_keyward/.well-known/jwks.json")).json());
    const who = await verifyKeywardContext(h.calls.origin[0] as Request, { jwks });
    expect(who).toMatchObject({ org: ORG, keyId: record.id, user: "user_alice", permissions: ["read", "write"] });
  });

  it("takes permissions from a space-separated scope claim when there is no permissions claim", async () => {
    const { dual } = setup();
    const { key } = await seedKey({ org: ORG, scopes: ["read", "write"] });
    const res = await dual(key, await userToken({ claims: { scope: "read  openid" } }));
    expect(res.status).toBe(200);
    expect(((await res.json()) as Echo).headers["x-keyward-permissions"]).toBe("read");
  });

  it("fetches the JWKS once for many requests (cached)", async () => {
    const { idp, dual } = setup();
    const { key } = await seedKey({ org: ORG, scopes: ["read"], limit: 100 });
    for (let i = 0; i < 5; i++) expect((await dual(key, await userToken({ claims: { permissions: ["read"] } }))).status).toBe(200);
    expect(idp.count).toBe(1);
  });

  it("accepts a token expired by less than the clock skew", async () => {
    const { dual } = setup();
    const { key } = await seedKey({ org: ORG, scopes: ["read"] });
    const now = Math.floor(Date.now() / 1000);
    expect((await dual(key, await userToken({ claims: { exp: now - 10, permissions: ["read"] } }))).status).toBe(200);
  });
});

describe("algorithm attacks (threats.md 31)", () => {
  it("refuses alg none: 401 INVALID_USER_TOKEN, no JWKS fetch, origin never called", async () => {
    const { h, idp, dual } = setup();
    const { key } = await seedKey({ org: ORG });
    const token = new UnsecuredJWT(validClaims({ permissions: ["read"] })).encode();
    expect(token.endsWith(".")).toBe(true);
    const body = await expectRefused(await dual(key, token), 401, "INVALID_USER_TOKEN", h);
    expect(body.message).toMatch(/"none"; accepted: RS256/);
    expect(idp.count).toBe(0);
  });

  it("refuses alg none with a signature segment, and with alg spelled None/NONE", async () => {
    const { h, idp, dual } = setup();
    const { key } = await seedKey({ org: ORG });
    for (const alg of ["none", "None", "NONE"]) {
      const token = `${b64url(JSON.stringify({ alg, kid: idpKey.jwk.kid }))}.${b64url(JSON.stringify(validClaims()))}.c2ln`;
      await expectRefused(await dual(key, token), 401, "INVALID_USER_TOKEN", h);
    }
    expect(idp.count).toBe(0);
  });

  it("refuses HS256 signed with the JWKS public key (PEM and JWK JSON) as the HMAC secret", async () => {
    const { h, idp, dual } = setup();
    const { key } = await seedKey({ org: ORG });
    const pem = await exportSPKI(idpKey.publicKey);
    for (const secret of [pem, JSON.stringify(idpKey.jwk), JSON.stringify({ keys: [idpKey.jwk] })]) {
      const res = await dual(key, await hs256(secret, validClaims()));
      await expectRefused(res, 401, "INVALID_USER_TOKEN", h);
    }
    expect(idp.count).toBe(0);
  });

  it("refuses HS256 signed with a configured USER_PUBLIC_KEY as the HMAC secret", async () => {
    const pem = await exportSPKI(idpKey.publicKey);
    const idp = identityProvider();
    const h = harness({
      vars: { USER_PUBLIC_KEY: pem, USER_JWT_ALGORITHMS: "RS256", USER_TOKEN_ISSUER: ISSUER, USER_TOKEN_AUDIENCE: AUDIENCE },
      jwksFetch: idp.fetch,
      policy: POLICY,
    });
    const { key } = await seedKey({ org: ORG, scopes: ["read"] });
    const send = (token: string) => h.send("/things", { headers: { "x-api-key": key, authorization: `Bearer ${token}` } });
    await expectRefused(await send(await hs256(pem, validClaims({ permissions: ["read"] }))), 401, "INVALID_USER_TOKEN", h);
    await expectRefused(await send(await hs256(pem.trim(), validClaims({ permissions: ["read"] }))), 401, "INVALID_USER_TOKEN", h);
    // The same configuration accepts a genuine RS256 token: the refusals above are about the algorithm.
    expect((await send(await userToken({ claims: { permissions: ["read"] } }))).status).toBe(200);
    expect(idp.count).toBe(0);
  });

  it("refuses an algorithm outside the pinned list even when the JWKS holds a matching key", async () => {
    const { h, idp, dual } = setup();
    const { key } = await seedKey({ org: ORG });
    const rs512 = await generateKeyPair("RS512", { extractable: true });
    const ps256 = await generateKeyPair("PS256", { extractable: true });
    for (const token of [
      await userToken({ key: ecKey }), // ES256, its key is in the JWKS
      // Other RSA algorithms under the published RSA key's kid.
      await userToken({ key: { ...rs512, jwk: { ...idpKey.jwk, alg: "RS512" } } }),
      await userToken({ key: { ...ps256, jwk: { ...idpKey.jwk, alg: "PS256" } } }),
    ]) {
      await expectRefused(await dual(key, token), 401, "INVALID_USER_TOKEN", h);
    }
    expect(idp.count).toBe(0);
  });

  it("refuses a token signed by a key nobody published, even with the kid of a published key", async () => {
    const { h, dual } = setup();
    const { key } = await seedKey({ org: ORG });
    const token = await userToken({ key: strangerKey, header: { kid: idpKey.jwk.kid } });
    const body = await expectRefused(await dual(key, token), 401, "INVALID_USER_TOKEN", h);
    expect(body.message).toMatch(/signature/);
  });
});

describe("time, issuer and audience (threats.md 32)", () => {
  const now = () => Math.floor(Date.now() / 1000);
  it.each<[string, () => Record<string, unknown>, RegExp]>([
    ["expired beyond the 30 s skew", () => ({ exp: now() - 31 - 5 }), /expired/],
    ["missing exp", () => ({ exp: undefined }), /"exp"/],
    ["exp not a number", () => ({ exp: "tomorrow" }), /./],
    ["nbf beyond the skew in the future", () => ({ nbf: now() + 120 }), /"nbf"/],
    ["iat far in the future is fine but nbf in the future is not", () => ({ nbf: now() + 3600, iat: now() }), /"nbf"/],
    ["a wrong issuer", () => ({ iss: "https://evil.example/" }), /"iss"/],
    ["the issuer without its trailing slash", () => ({ iss: "https://idp.test" }), /"iss"/],
    ["a missing issuer", () => ({ iss: undefined }), /"iss"/],
    ["a wrong audience", () => ({ aud: "https://other-api.example" }), /"aud"/],
    ["a missing audience", () => ({ aud: undefined }), /"aud"/],
    ["an audience list without ours", () => ({ aud: ["a", "b"] }), /"aud"/],
  ])("refuses %s with 401 INVALID_USER_TOKEN", async (_name, claims, message) => {
    const { h, dual } = setup();
    const { key } = await seedKey({ org: ORG, scopes: ["read"] });
    const token = await userToken({ claims: { permissions: ["read"], ...claims() } });
    const res = await dual(key, token);
    const body = await expectRefused(res, 401, "INVALID_USER_TOKEN", h);
    expect(body.message).toMatch(message);
    expect(res.headers.get("www-authenticate")).toMatch(/error="invalid_token"/);
  });

  it("accepts an audience list that contains ours", async () => {
    const { dual } = setup();
    const { key } = await seedKey({ org: ORG, scopes: ["read"] });
    expect((await dual(key, await userToken({ claims: { aud: ["x", AUDIENCE], permissions: ["read"] } }))).status).toBe(200);
  });

  it("bounds the skew: a token expired 20 s ago passes with a 30 s skew, not with a 0 s skew", async () => {
    const strict = setup({ vars: { USER_TOKEN_CLOCK_SKEW_SECONDS: "0" } });
    const { key } = await seedKey({ org: ORG, scopes: ["read"] });
    // 20 s, not 29: the verifier reads the real clock, and a loaded machine may take
    // seconds between minting and the second check; 10 s of slack keeps this exact.
    const token = await userToken({ claims: { exp: now() - 20, permissions: ["read"] } });
    await expectRefused(await strict.dual(key, token), 401, "INVALID_USER_TOKEN", strict.h);
    const lenient = setup();
    expect((await lenient.dual(key, token)).status).toBe(200);
  });
});

describe("key ids and key-location headers (threats.md 33, 34)", () => {
  function expectOnlyConfiguredJwks(idp: ReturnType<typeof identityProvider>) {
    for (const s of idp.seen) {
      expect(s.url).toBe(JWKS_URL);
      expect(s.redirect).toBe("manual");
    }
  }

  it("refuses an unknown kid: 401, and fetches nothing but the configured JWKS", async () => {
    const globalFetch = vi.spyOn(globalThis, "fetch");
    const { h, idp, dual } = setup();
    const { key } = await seedKey({ org: ORG });
    const body = await expectRefused(await dual(key, await userToken({ header: { kid: "rotated-away" } })), 401, "INVALID_USER_TOKEN", h);
    expect(body.message).toMatch(/unknown key/);
    expect(idp.count).toBe(1);
    expectOnlyConfiguredJwks(idp);
    expect(globalFetch).not.toHaveBeenCalled();
  });

  it.each([
    ["path characters", "../../../etc/passwd"],
    ["a URL", "https://evil.example/key.pem"],
    ["a file URL", "file:///etc/passwd"],
  ])("refuses a kid with %s: 401 as an unknown key, and fetches only the configured JWKS", async (_name, kid) => {
    const globalFetch = vi.spyOn(globalThis, "fetch");
    const { h, idp, dual } = setup();
    const { key } = await seedKey({ org: ORG });
    const body = await expectRefused(await dual(key, await userToken({ header: { kid } })), 401, "INVALID_USER_TOKEN", h);
    expect(body.message).not.toContain("passwd");
    expect(idp.seen.map((s) => s.url)).toEqual([JWKS_URL]);
    expect(globalFetch).not.toHaveBeenCalled();
  });

  it("accepts a kid in standard base64, as Amazon Cognito issues them", async () => {
    const cognitoLike = { ...idpKey, jwk: { ...idpKey.jwk, kid: "8Z2KXg+UxcG4mIcT/2GlhCrHaeSFc5HAwVnC1yqjPTjM=" } };
    let fetches = 0;
    const publish = (async () => {
      fetches++;
      return Response.json({ keys: [cognitoLike.jwk] });
    }) as typeof fetch;
    const h = harness({ vars: VARS, policy: POLICY, jwksFetch: publish });
    const { key } = await seedKey({ org: ORG, scopes: ["read"] });
    const token = await userToken({ key: cognitoLike, claims: { permissions: ["read"] } });
    const res = await h.send("/things", { headers: { "x-api-key": key, authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    expect(fetches).toBe(1);
  });

  it.each([
    ["quotes", `k"'); DROP TABLE keys;--`],
    ["a space", "key 1"],
    ["a backslash", "..\\..\\windows"],
    ["a NUL", "k\u0000id"],
    ["2 KB", "k".repeat(2048)],
    ["a number", 42],
    ["an object", { url: "https://evil.example" }],
  ])("refuses a kid with %s before any JWKS fetch", async (_name, kid) => {
    const globalFetch = vi.spyOn(globalThis, "fetch");
    const { h, idp, dual } = setup();
    const { key } = await seedKey({ org: ORG });
    const body = await expectRefused(await dual(key, await userToken({ header: { kid } })), 401, "INVALID_USER_TOKEN", h);
    expect(body.message).toMatch(/kid/);
    expect(body.message).not.toContain("passwd");
    expect(idp.count).toBe(0);
    expect(globalFetch).not.toHaveBeenCalled();
  });

  it("refuses a kid of 10 KB with a 401 before the key is even looked up", async () => {
    const { h, idp, dual } = setup();
    const { key } = await seedKey({ org: ORG });
    const res = await dual(key, await userToken({ header: { kid: "k".repeat(10 * 1024) } }));
    expect(res.status).toBe(401);
    // The credential reader refuses any Authorization value over 4 KiB first (docs/contract.md:
    // a clear 401), so this never reaches the token verifier.
    expect((await errorOf(res)).code).toMatch(/^INVALID_(USER_TOKEN|API_KEY)$/);
    expect(h.calls).toMatchObject({ kv: { get: 0 }, guard: [], origin: [] });
    expect(idp.count).toBe(0);
  });

  it.each([
    ["jku", async () => ({ jku: "https://evil.example/jwks.json" })],
    ["jwk", async () => ({ jwk: strangerKey.jwk })],
    ["x5u", async () => ({ x5u: "https://evil.example/cert.pem" })],
    ["x5c", async () => ({ x5c: ["MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"] })],
  ])("refuses a %s header (signed by the key it names, or by the real key) and fetches nothing it names", async (name, header) => {
    const globalFetch = vi.spyOn(globalThis, "fetch");
    const { h, idp, dual } = setup();
    const { key } = await seedKey({ org: ORG, scopes: ["read"] });
    for (const signer of [strangerKey, idpKey]) {
      const token = await userToken({ key: signer, header: await header(), claims: { permissions: ["read"] } });
      const body = await expectRefused(await dual(key, token), 401, "INVALID_USER_TOKEN", h);
      expect(body.message).toContain(`"${name}"`);
    }
    expectOnlyConfiguredJwks(idp);
    expect(idp.count).toBe(0);
    expect(globalFetch).not.toHaveBeenCalled();
  });

  it("answers a flood of 50 random kids with a bounded number of JWKS fetches", async () => {
    const { h, idp, dual } = setup();
    const { key } = await seedKey({ org: ORG, limit: 1000 });
    for (let i = 0; i < 50; i++) {
      const kid = crypto.randomUUID();
      await expectRefused(await dual(key, await userToken({ header: { kid } })), 401, "INVALID_USER_TOKEN", h);
    }
    // One fetch to load the set; unknown kids within the 30 s cool-down refetch nothing.
    expect(idp.count).toBe(1);
    expectOnlyConfiguredJwks(idp);
    // A genuine token is still served from the cached set.
    const ok = await dual(key, await userToken({ claims: { permissions: ["read"] } }));
    expect(ok.status).toBe(200);
    expect(idp.count).toBe(1);
  });

  it("answers 50 concurrent random kids with a bounded number of JWKS fetches", async () => {
    const { h, idp, dual } = setup();
    const { key } = await seedKey({ org: ORG, limit: 1000 });
    const tokens = await Promise.all(Array.from({ length: 50 }, () => userToken({ header: { kid: crypto.randomUUID() } })));
    const responses = await Promise.all(tokens.map((t) => dual(key, t)));
    for (const res of responses) expect(res.status).toBe(401);
    expect(idp.count).toBeLessThanOrEqual(2);
    expect(h.calls.origin).toHaveLength(0);
  });
});

describe("JWKS endpoint faults (threats.md 35)", () => {
  it.each<[JwksMode]>([["down"], ["slow"], ["redirect"]])(
    "answers 20 concurrent requests 503 with a single JWKS fetch when the endpoint is %s",
    async (mode) => {
      const { h, idp, dual } = setup({ mode });
      const { key } = await seedKey({ org: ORG, scopes: ["read"], limit: 100 });
      const token = await userToken({ claims: { permissions: ["read"] } });
      const statuses = await Promise.all(Array.from({ length: 20 }, () => dual(key, token).then((r) => r.status)));
      expect(statuses).toEqual(Array(20).fill(503));
      expect(idp.count).toBe(1);
      expect(h.calls.origin).toHaveLength(0);
    },
  );

  it("holds off fetching for a second after a failed fetch, then recovers when the endpoint is back", async () => {
    let mode: JwksMode = "down";
    let clock = Date.now();
    const calls: string[] = [];
    const h = harness({
      vars: VARS,
      policy: POLICY,
      now: () => clock,
      jwksFetch: async (input, init) => {
        calls.push(String(input));
        return identityProvider(mode).fetch(input, init);
      },
    });
    const { key } = await seedKey({ org: ORG, scopes: ["read"], limit: 100 });
    const send = async () =>
      h.send("/things", { headers: { "x-api-key": key, authorization: `Bearer ${await userToken({ claims: { permissions: ["read"] } })}` } });
    expect((await send()).status).toBe(503);
    expect(calls).toHaveLength(1);
    for (let i = 0; i < 10; i++) expect((await send()).status).toBe(503);
    mode = "ok";
    clock += 500;
    expect((await send()).status).toBe(503);
    expect(calls).toHaveLength(1);
    clock += 600;
    expect((await send()).status).toBe(200);
    expect(calls).toEqual([JWKS_URL, JWKS_URL]);
    expect(h.calls.origin).toHaveLength(1);
  });

  it.each<[JwksMode]>([["down"], ["error500"], ["slow"], ["redirect"], ["garbage"]])(
    "answers 503 AUTH_BACKEND_UNAVAILABLE with Retry-After when the JWKS endpoint is %s; never 401, never proxied",
    async (mode) => {
      const { h, idp, dual } = setup({ mode });
      const { key, record } = await seedKey({ org: ORG, scopes: ["read"], limit: 3 });
      const started = Date.now();
      const res = await dual(key, await userToken({ claims: { permissions: ["read"] } }));
      expect(res.status).toBe(503);
      expect((await errorOf(res)).code).toBe("AUTH_BACKEND_UNAVAILABLE");
      expect(Number(res.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
      expect(h.calls.origin).toHaveLength(0);
      expect(Date.now() - started).toBeLessThan(3_000);
      // Only the configured URL, and a redirect is never followed.
      expect(idp.seen.map((s) => s.url)).toEqual([JWKS_URL]);
      expect(idp.seen[0]?.redirect).toBe("manual");
      // Nothing was taken from the key's quota.
      const status = await guardStub(record.id).describe({
        keyId: record.id,
        version: 1,
        limit: 3,
        windowSeconds: 60,
        expiresAt: null,
        revoked: false,
        revokeAt: null,
      });
      expect(status.admitted).toBe(0);
    },
  );

  it("still answers a malformed token 401 while the JWKS endpoint is down (the token's fault is judged first)", async () => {
    const { h, idp, dual } = setup({ mode: "down" });
    const { key } = await seedKey({ org: ORG });
    await expectRefused(await dual(key, "e.e.e"), 401, "INVALID_USER_TOKEN", h);
    expect(idp.count).toBe(0);
  });
});

describe("malformed tokens (threats.md 36)", () => {
  const header = b64url(JSON.stringify({ alg: "RS256", kid: "idp-key-1" }));
  const payload = b64url(JSON.stringify(validClaims()));

  it.each<[string, () => Promise<string> | string]>([
    ["bad base64 in the header", () => `A.${payload}.c2ln`],
    ["a header that is not JSON", () => `${b64url("not json")}.${payload}.c2ln`],
    ["a header that is a JSON array", () => `${b64url("[1,2]")}.${payload}.c2ln`],
    ["a payload that is a JSON array (validly signed)", async () => signRaw("[1,2,3]")],
    ["a payload that is not JSON (validly signed)", async () => signRaw("hello")],
    ["a payload of bad base64", () => `${header}.A.c2ln`],
    ["an empty signature", () => `${header}.${payload}.`],
    ["a signature of garbage", () => `${header}.${payload}.${"A".repeat(342)}`],
    ["four segments", () => `${header}.${payload}.c2ln.c2ln`],
    ["five segments (JWE shape)", () => `${header}.${payload}.a.b.c`],
  ])("answers %s with 401, never a 500", async (_name, token) => {
    const { h, dual } = setup();
    const { key } = await seedKey({ org: ORG });
    const res = await dual(key, await token());
    expect(res.status).toBe(401);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect(h.calls.origin).toHaveLength(0);
  });

  it.each<[string, () => string]>([
    ["two segments", () => `${header}.${payload}`],
    ["bad base64 characters", () => `${header}.${payload.slice(0, 10)}!*$${payload.slice(10)}.c2ln`],
  ])("answers %s with 401 INVALID_USER_TOKEN, never a 500", async (_name, token) => {
    const { h, dual } = setup();
    const { key } = await seedKey({ org: ORG });
    await expectRefused(await dual(key, token()), 401, "INVALID_USER_TOKEN", h);
  });

  it("answers a 100 KB token with 401, never a 500, without looking anything up", async () => {
    const { h, idp, dual } = setup();
    const { key } = await seedKey({ org: ORG });
    const res = await dual(key, `${header}.${b64url("x".repeat(75_000))}.c2ln`);
    expect(res.status).toBe(401);
    expect(h.calls).toMatchObject({ kv: { get: 0 }, guard: [], origin: [] });
    expect(idp.count).toBe(0);
  });

  async function signRaw(body: string): Promise<string> {
    const head = b64url(JSON.stringify({ alg: "RS256", kid: idpKey.jwk.kid }));
    const data = `${head}.${b64url(body)}`;
    const sig = await crypto.subtle.sign("RSASSA-PKCS1-v1_5", idpKey.privateKey, new TextEncoder().encode(data));
    return `${data}.${b64url(String.fromCharCode(...new Uint8Array(sig)))}`;
  }
});

describe("permissions: key scopes and user permissions together (threats.md 37-39)", () => {
  it("intersects key scopes {read} with user permissions {read, admin} to {read}, and refuses a route needing admin", async () => {
    const { h, dual } = setup();
    const { key, record } = await seedKey({ org: ORG, scopes: ["read"] });
    const token = await userToken({ claims: { permissions: ["read", "admin"] } });

    const ok = await dual(key, token, "/things");
    expect(ok.status).toBe(200);
    const seen = (await ok.json()) as Echo;
    expect(seen.headers["x-keyward-permissions"]).toBe("read");
    const jwks = createLocalJWKSet(await (await h.send("/_keyward/.well-known/jwks.json")).json());
    expect(await verifyKeywardContext(h.calls.origin[0] as Request, { jwks })).toMatchObject({ keyId: record.id, user: "user_alice", permissions: ["read"] });

    const res = await dual(key, token, "/admin/reindex", { method: "POST" });
    expect(res.status).toBe(403);
    const body = await errorOf(res);
    expect(body.code).toBe("INSUFFICIENT_PERMISSIONS");
    expect(body.message).toMatch(/"admin"/);
    expect(h.calls.origin).toHaveLength(1);
  });

  it("never widens: key scopes {read, admin} with a user holding {read} cannot reach admin either", async () => {
    const { h, dual } = setup();
    const { key } = await seedKey({ org: ORG, scopes: ["read", "admin"] });
    const res = await dual(key, await userToken({ claims: { permissions: ["read"] } }), "/admin/reindex", { method: "POST" });
    await expectRefused(res, 403, "INSUFFICIENT_PERMISSIONS", h);
  });

  it("gives a token without permissions, scope or known role nothing at all", async () => {
    const { h, dual } = setup();
    const { key } = await seedKey({ org: ORG });
    await expectRefused(await dual(key, await userToken()), 403, "INSUFFICIENT_PERMISSIONS", h);
    await expectRefused(await dual(key, await userToken({ claims: { role: "superuser" } })), 403, "INSUFFICIENT_PERMISSIONS", h);
    await expectRefused(await dual(key, await userToken({ claims: { role: "constructor" } })), 403, "INSUFFICIENT_PERMISSIONS", h);
    await expectRefused(await dual(key, await userToken({ claims: { permissions: [] } })), 403, "INSUFFICIENT_PERMISSIONS", h);
  });

  it("answers a valid user token with an invalid key 401 INVALID_API_KEY: the key is judged first, no JWKS fetch", async () => {
    const { h, idp, dual } = setup();
    const token = await userToken({ claims: { permissions: ["read"] } });
    const malformed = await dual("sk_live_nothex", token);
    await expectRefused(malformed, 401, "INVALID_API_KEY", h);
    const unknown = await dual(generateKey("sk", "live").key, token);
    await expectRefused(unknown, 401, "INVALID_API_KEY", h);
    expect(idp.count).toBe(0);
    expect(h.calls.guard).toEqual([]);
  });

  it("answers a user token of another org 403 ORG_MISMATCH, and one without an org too", async () => {
    const { h, dual } = setup();
    const { key } = await seedKey({ org: ORG, scopes: ["read"] });
    const other = await dual(key, await userToken({ claims: { org_id: "org_globex", permissions: ["read"] } }));
    const body = await expectRefused(other, 403, "ORG_MISMATCH", h);
    expect(body.message).not.toContain("org_globex");
    await expectRefused(await dual(key, await userToken({ claims: { org_id: undefined, permissions: ["read"] } })), 403, "ORG_MISMATCH", h);
    await expectRefused(await dual(key, await userToken({ claims: { org_id: [ORG], permissions: ["read"] } })), 403, "ORG_MISMATCH", h);
  });

  it("answers a revoked key with a bad user token KEY_REVOKED: revocation comes first", async () => {
    const { h, dual } = setup();
    // KV already says revoked: answered before the token is even looked at.
    const inKv = await seedKey({ org: ORG, status: "revoked", version: 2 });
    await expectRefused(await dual(inKv.key, "e.e.e"), 403, "KEY_REVOKED", h);
    // Only the guard knows (KV and caches stale): the bad token is judged, but the guard's answer wins.
    const inGuard = await seedKey({ org: ORG });
    const settings = { keyId: inGuard.record.id, version: 2, limit: 60, windowSeconds: 60, expiresAt: null, revoked: false, revokeAt: null };
    await guardStub(inGuard.record.id).revoke({ settings, at: null });
    for (const token of ["e.e.e", await userToken({ claims: { org_id: "org_globex" } }), await userToken({ claims: { exp: 1 } })]) {
      await expectRefused(await dual(inGuard.key, token), 403, "KEY_REVOKED", h);
    }
  });
});

describe("role presets (threats.md 40)", () => {
  const asRole = (role: string, extra: Record<string, unknown> = {}) => userToken({ claims: { sub: `user_${role}`, role, ...extra } });

  it("lets a limited user reach assigned customers only, for reads and writes", async () => {
    const { h, dual } = setup();
    const { key } = await seedKey({ org: ORG, limit: 100 });
    const token = await asRole("limited", { customer_ids: ["cus_1", "cus_3"] });
    const assigned = await dual(key, token, "/customers/cus_1");
    expect(assigned.status).toBe(200);
    expect(((await assigned.json()) as Echo).headers["x-keyward-permissions"]).toBe("customers:read customers:write subscriptions:read subscriptions:write");
    expect((await dual(key, token, "/customers/cus_3", { method: "PUT" })).status).toBe(200);
    expect((await dual(key, token, "/customers/cus_1/subscriptions", { method: "POST" })).status).toBe(200);
    const before = h.calls.origin.length;
    for (const [method, path] of [
      ["GET", "/customers/cus_2"],
      ["PUT", "/customers/cus_2"],
      ["DELETE", "/customers/cus_2"],
      ["GET", "/customers/cus_2/subscriptions"],
      ["POST", "/customers/cus_2/subscriptions"],
      ["GET", "/customers/CUS_1"],
      ["GET", "/customers/cus_1x"],
    ] as const) {
      const res = await dual(key, token, path, { method });
      expect(res.status, `${method} ${path}`).toBe(403);
      const body = await errorOf(res);
      expect(body.code).toBe("INSUFFICIENT_PERMISSIONS");
      expect(body.message).toMatch(/not assigned customerId/);
    }
    expect(h.calls.origin).toHaveLength(before);
  });

  it("gives a limited user without customer_ids no customer at all", async () => {
    const { h, dual } = setup();
    const { key } = await seedKey({ org: ORG });
    await expectRefused(await dual(key, await asRole("limited"), "/customers/cus_1"), 403, "INSUFFICIENT_PERMISSIONS", h);
    await expectRefused(await dual(key, await asRole("limited", { customer_ids: "cus_1" }), "/customers/cus_1"), 403, "INSUFFICIENT_PERMISSIONS", h);
  });

  it("lets a support user read any customer and modify none", async () => {
    const { h, dual } = setup();
    const { key } = await seedKey({ org: ORG, limit: 100 });
    const token = await asRole("support");
    for (const path of ["/customers", "/customers/cus_1", "/customers/cus_2", "/customers/cus_2/subscriptions"]) {
      expect((await dual(key, token, path)).status, path).toBe(200);
    }
    const before = h.calls.origin.length;
    for (const [method, path] of [
      ["PUT", "/customers/cus_1"],
      ["PATCH", "/customers/cus_1"],
      ["DELETE", "/customers/cus_2"],
      ["POST", "/customers/cus_1/subscriptions"],
    ] as const) {
      const res = await dual(key, token, path, { method });
      expect(res.status, `${method} ${path}`).toBe(403);
      expect((await errorOf(res)).code).toBe("INSUFFICIENT_PERMISSIONS");
    }
    expect(h.calls.origin).toHaveLength(before);
  });

  it("lets an admin read and modify every customer, within the key's scopes", async () => {
    const { h, dual } = setup();
    const full = await seedKey({ org: ORG, limit: 100 });
    const token = await asRole("admin");
    for (const [method, path] of [
      ["GET", "/customers/cus_9"],
      ["PUT", "/customers/cus_9"],
      ["DELETE", "/customers/cus_2"],
      ["POST", "/customers/cus_2/subscriptions"],
    ] as const) {
      expect((await dual(full.key, token, path, { method })).status, `${method} ${path}`).toBe(200);
    }
    // A read-only key narrows even an admin.
    const readOnly = await seedKey({ org: ORG, scopes: ["customers:read", "resources:all"] });
    const before = h.calls.origin.length;
    expect((await dual(readOnly.key, token, "/customers/cus_9")).status).toBe(200);
    expect((await dual(readOnly.key, token, "/customers/cus_9", { method: "PUT" })).status).toBe(403);
    // A key without resources:all confines the admin to assigned customers.
    const noResources = await seedKey({ org: ORG, scopes: ["customers:read"] });
    expect((await dual(noResources.key, token, "/customers/cus_9")).status).toBe(403);
    expect(h.calls.origin).toHaveLength(before + 1);
  });

  it("reads a known role before a generic OAuth scope claim, and the scope only without one", async () => {
    const { h, dual } = setup();
    const { key } = await seedKey({ org: ORG, limit: 100 });
    const support = await asRole("support", { scope: "openid profile email" });
    const seen = await dual(key, support, "/customers/cus_1");
    expect(seen.status).toBe(200);
    expect(((await seen.json()) as Echo).headers["x-keyward-permissions"]).toBe("customers:read resources:all subscriptions:read");
    const scoped = await userToken({ claims: { scope: "customers:read resources:all" } });
    expect((await dual(key, scoped, "/customers/cus_1")).status).toBe(200);
    const before = h.calls.origin.length;
    expect((await dual(key, scoped, "/customers/cus_1", { method: "PUT" })).status).toBe(403);
    const unknownRole = await userToken({ claims: { role: "janitor", scope: "openid" } });
    expect((await dual(key, unknownRole, "/customers/cus_1")).status).toBe(403);
    expect(h.calls.origin).toHaveLength(before);
  });

  it("uses the policy file's presets and roleClaim over the built-in ones", async () => {
    const { h, dual } = setup({
      policy: { ...POLICY, roleClaim: "app_role", presets: { support: { permissions: ["customers:read"] }, auditor: { permissions: ["read"] } } },
    });
    const { key } = await seedKey({ org: ORG });
    const auditor = await userToken({ claims: { app_role: "auditor", role: "admin" } });
    expect((await dual(key, auditor, "/things")).status).toBe(200);
    expect((await dual(key, auditor, "/customers")).status).toBe(403);
    // The redefined support preset lacks resources:all: no customer is readable without assignment.
    expect((await dual(key, await userToken({ claims: { app_role: "support" } }), "/customers/cus_1")).status).toBe(403);
    expect(h.calls.origin).toHaveLength(1);
  });

  it("prefers the token's explicit permissions to its role's preset", async () => {
    const { h, dual } = setup();
    const { key } = await seedKey({ org: ORG });
    const token = await userToken({ claims: { role: "admin", permissions: ["customers:read"], customer_ids: ["cus_1"] } });
    expect((await dual(key, token, "/customers/cus_1")).status).toBe(200);
    expect((await dual(key, token, "/customers/cus_2")).status).toBe(403);
    expect((await dual(key, token, "/customers/cus_1", { method: "PUT" })).status).toBe(403);
    expect(h.calls.origin).toHaveLength(1);
  });
});

describe("refused requests consume no quota", () => {
  it("lets a key with a limit of 2 serve 2 requests after 12 refusals of every kind", async () => {
    const { h, dual } = setup();
    const { key, record } = await seedKey({ org: ORG, limit: 2 });
    const support = await userToken({ claims: { role: "support" } });
    const refusals: [string, RequestInit, string, number, string][] = [
      ["/customers/cus_1", { method: "PUT" }, support, 403, "INSUFFICIENT_PERMISSIONS"],
      ["/admin/reindex", { method: "POST" }, support, 403, "INSUFFICIENT_PERMISSIONS"],
      ["/unlisted", {}, support, 403, "INSUFFICIENT_PERMISSIONS"],
      ["/customers/cus_1", {}, await userToken({ claims: { role: "support", org_id: "org_globex" } }), 403, "ORG_MISMATCH"],
      ["/customers/cus_1", {}, await userToken({ claims: { role: "support", exp: 1 } }), 401, "INVALID_USER_TOKEN"],
      ["/customers/cus_1", {}, "e.e.e", 401, "INVALID_USER_TOKEN"],
    ];
    for (let round = 0; round < 2; round++) {
      for (const [path, init, token, status, code] of refusals) {
        const res = await dual(key, token, path, init);
        expect(res.status, `${init.method ?? "GET"} ${path}`).toBe(status);
        expect((await errorOf(res)).code).toBe(code);
      }
    }
    expect(h.calls.origin).toHaveLength(0);
    expect((await dual(key, support, "/customers/cus_1")).status).toBe(200);
    expect((await dual(key, support, "/customers/cus_2")).status).toBe(200);
    const limited = await dual(key, support, "/customers/cus_3");
    expect(limited.status).toBe(429);
    expect(h.calls.origin).toHaveLength(2);
    const status = await guardStub(record.id).describe({
      keyId: record.id,
      version: 1,
      limit: 2,
      windowSeconds: 60,
      expiresAt: null,
      revoked: false,
      revokeAt: null,
    });
    expect(status.admitted).toBe(2);
    // Refusing for permissions on an exhausted key is still a permission answer, and still free.
    const denied = await dual(key, support, "/customers/cus_1", { method: "DELETE" });
    expect(denied.status).toBe(403);
    expect((await errorOf(denied)).code).toBe("INSUFFICIENT_PERMISSIONS");
  });
});
