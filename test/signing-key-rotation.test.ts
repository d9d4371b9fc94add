import { env } from "cloudflare:workers";
import { createLocalJWKSet, exportJWK, generateKeyPair } from "jose";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../src/config";
import { contextSigner } from "../src/identity/context-token";
import { verifyKeywardContext } from "../src/origin/verify-context";
import { harness, seedKey } from "./support/harness";

/** A fresh P-256 key pair as JWKs with a kid. */
async function keyPair(kid: string) {
  const { privateKey, publicKey } = await generateKeyPair("ES256", { extractable: true });
  return { privateJwk: { ...(await exportJWK(privateKey)), kid } as JsonWebKey & { kid: string }, publicJwk: { ...(await exportJWK(publicKey)), kid } };
}

const signingKid = () => (JSON.parse(env.KEYWARD_SIGNING_KEY as string) as { kid: string }).kid;

describe("signing-key rotation: KEYWARD_PUBLISHED_KEYS (docs/origin.md, Key rotation)", () => {
  it("serves the published keys beside the signing key, by kid, without private parts", async () => {
    const next = await keyPair("k2");
    const h = harness({ vars: { KEYWARD_PUBLISHED_KEYS: JSON.stringify([next.publicJwk]) } });
    const jwks = (await (await h.send("/_keyward/.well-known/jwks.json")).json()) as { keys: Record<string, string>[] };
    expect(jwks.keys.map((k) => k.kid)).toEqual([signingKid(), "k2"]);
    for (const key of jwks.keys) {
      expect(key).toMatchObject({ kty: "EC", crv: "P-256", alg: "ES256", use: "sig" });
      expect(key).not.toHaveProperty("d");
    }
  });

  it("serves the signing key once when the list holds it too (the switch of a rotation: both keys listed while the secret changes)", async () => {
    const previous = await keyPair("k1");
    const { d: _d, ...signingPublic } = JSON.parse(env.KEYWARD_SIGNING_KEY as string) as Record<string, string>;
    const h = harness({ vars: { KEYWARD_PUBLISHED_KEYS: JSON.stringify([signingPublic, previous.publicJwk]) } });
    const jwks = (await (await h.send("/_keyward/.well-known/jwks.json")).json()) as { keys: Record<string, string>[] };
    expect(jwks.keys.map((k) => k.kid)).toEqual([signingKid(), "k1"]);
  });

  it("still signs with KEYWARD_SIGNING_KEY while the next key is only published", async () => {
    const next = await keyPair("k2");
    const h = harness({ vars: { KEYWARD_PUBLISHED_KEYS: JSON.stringify({ keys: [next.publicJwk] }) } });
    const { key } = await seedKey();
    await h.call(key, "/v1/orders?x=1");
    const forwarded = h.calls.origin[0] as Request;
    const token = forwarded.headers.get("x-keyward-context") as string;
    expect(JSON.parse(atob((token.split(".")[0] as string).replace(/-/g, "+").replace(/_/g, "/"))).kid).toBe(signingKid());
    const jwks = createLocalJWKSet(await (await h.send("/_keyward/.well-known/jwks.json")).json());
    await expect(verifyKeywardContext(forwarded, { jwks })).resolves.toMatchObject({ keyId: expect.any(String) });
  });

  it("verifies a token the previous key signed before the switch, through the JWKS served after it", async () => {
    const previous = await keyPair("k1");
    const before = contextSigner({ privateJwk: previous.privateJwk, issuer: "keyward", ttlSeconds: 60, now: Date.now });
    const token = await before.sign({
      org: "org_a",
      keyId: "key_1",
      environment: "live",
      requestId: "r1",
      method: "GET",
      path: "/v1/x",
      query: "",
      user: null,
      permissions: null,
      creditsRemaining: null,
      meta: null,
    });
    const after = harness({ vars: { KEYWARD_PUBLISHED_KEYS: JSON.stringify([previous.publicJwk]) } });
    const jwks = createLocalJWKSet(await (await after.send("/_keyward/.well-known/jwks.json")).json());
    const request = new Request("http://origin.test/v1/x", { headers: { "x-keyward-context": token } });
    await expect(verifyKeywardContext(request, { jwks })).resolves.toMatchObject({ keyId: "key_1" });
    // And once the previous key is removed, it no longer verifies.
    const later = harness();
    const current = createLocalJWKSet(await (await later.send("/_keyward/.well-known/jwks.json")).json());
    await expect(verifyKeywardContext(request, { jwks: current })).rejects.toThrow(/not valid/);
  });

  it.each([
    ["not JSON", () => "k2", /must be JSON/],
    ["not a list", () => JSON.stringify({ kid: "k2" }), /must be an array of public JWKs/],
    ["a private key", async () => JSON.stringify([(await keyPair("k2")).privateJwk]), /holds a private key \("d"\): publish only the public half/],
    [
      "another key under the signing key's kid",
      async () => JSON.stringify([{ ...(await keyPair("x")).publicJwk, kid: signingKid() }]),
      /has the signing key's kid/,
    ],
    ["two keys under one kid", async () => JSON.stringify([(await keyPair("k2")).publicJwk, (await keyPair("k2")).publicJwk]), /already used by another key/],
    ["a key of another curve", () => JSON.stringify([{ kty: "RSA", n: "x", e: "AQAB", kid: "r1" }]), /key 0 must be a public EC P-256 JWK/],
    [
      "too many keys",
      async () => JSON.stringify(await Promise.all(["a", "b", "c", "d", "e"].map(async (k) => (await keyPair(k)).publicJwk))),
      /at most 4 keys/,
    ],
  ])("refuses KEYWARD_PUBLISHED_KEYS holding %s, naming the variable", async (_name, value, message) => {
    const raw = await value();
    expect(() => loadConfig({ ...env, KEYWARD_PUBLISHED_KEYS: raw })).toThrow(/KEYWARD_PUBLISHED_KEYS/);
    expect(() => loadConfig({ ...env, KEYWARD_PUBLISHED_KEYS: raw })).toThrow(message);
  });
});
