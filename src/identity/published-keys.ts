import * as z from "zod";

/** A public EC P-256 key as published in the JWKS (no private part). */
export type PublishedKey = JsonWebKey & { kid: string };

/** At most this many extra keys: a rotation needs one, a second covers an overlap. */
export const MAX_PUBLISHED_KEYS = 4;

const publicKeySchema = z.object({ kty: z.literal("EC"), crv: z.literal("P-256"), x: z.string().min(1), y: z.string().min(1), kid: z.string().min(1) });

/**
 * `KEYWARD_PUBLISHED_KEYS`: public keys served in the JWKS beside the signing
 * key's, never used to sign. A key rotation publishes the next key before it
 * signs, and keeps the previous one until its last tokens expire (docs/origin.md).
 * Accepts a JSON array of JWKs or a JWKS document (`{"keys": [...]}`). Throws an
 * Error whose message says what to fix.
 */
export function parsePublishedKeys(raw: string, signingKey: { kid: string; x?: string; y?: string }): PublishedKey[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new Error('must be JSON: an array of public JWKs, or a JWKS document {"keys": [...]}');
  }
  const list = Array.isArray(parsed) ? parsed : (parsed as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(list)) throw new Error('must be an array of public JWKs, or a JWKS document {"keys": [...]}');
  if (list.length > MAX_PUBLISHED_KEYS) throw new Error(`must hold at most ${MAX_PUBLISHED_KEYS} keys, got ${list.length}`);
  const kids = new Set<string>();
  const keys: PublishedKey[] = [];
  list.forEach((entry, i) => {
    // A [vars] value is readable by anyone with access to the Worker's settings:
    // private key material here is a leak, refused rather than silently stripped.
    if (typeof entry === "object" && entry !== null && "d" in entry) {
      throw new Error(`key ${i} holds a private key ("d"): publish only the public half (kty, crv, x, y, kid)`);
    }
    const key = publicKeySchema.safeParse(entry);
    if (!key.success) throw new Error(`key ${i} must be a public EC P-256 JWK with kty, crv, x, y and kid`);
    const { kid, x, y } = key.data;
    if (kid === signingKey.kid) {
      // The signing key itself, listed during a rotation's switch (docs/origin.md): the
      // list may hold both keys while the secret changes, so it is served once. The
      // same kid on another key would make origins pick either: refused.
      if (x === signingKey.x && y === signingKey.y) return;
      throw new Error(`key ${i} has the signing key's kid ${JSON.stringify(kid)} but is another key (every kid must name one key)`);
    }
    if (kids.has(kid)) throw new Error(`key ${i} has kid ${JSON.stringify(kid)}, already used by another key (every kid must be distinct)`);
    kids.add(kid);
    keys.push({ kty: "EC", crv: "P-256", x, y, kid });
  });
  return keys;
}
