// @ts-check
// API keys and KV records in Keyward's format (src/keys/key-format.ts,
// src/lookup/key-record.ts), made in Node for seeding and for the load generator.
import { createHash, randomBytes } from "node:crypto";
import { crc32 } from "node:zlib";

const crcHex = (text) => crc32(text).toString(16).padStart(8, "0");

/** A well-formed key: sk_live_ + 32 hex random + 8 hex CRC32 of what precedes it. */
export function generateKey(type = "sk", environment = "live") {
  const random = randomBytes(16).toString("hex");
  const body = `${type}_${environment}_${random}`;
  return { key: body + crcHex(body), displayPrefix: `${type}_${environment}_${random.slice(0, 8)}` };
}

/** Right shape, wrong checksum: refused by Keyward before any lookup. */
export function malformedKey() {
  const { key } = generateKey();
  const last = key.at(-1) === "0" ? "1" : "0";
  return key.slice(0, -1) + last;
}

export const hashKey = (key) => createHash("sha256").update(key).digest("hex");

export function makeKey({ limit, windowSeconds, org = "org_bench" }) {
  const { key, displayPrefix } = generateKey();
  const record = {
    v: 1,
    id: `key_${randomBytes(10).toString("hex")}`,
    org,
    environment: "live",
    prefix: displayPrefix,
    scopes: null,
    status: "active",
    expiresAt: null,
    rateLimit: { limit, windowSeconds },
    version: 1,
    createdAt: Date.now(),
  };
  return { key, hash: hashKey(key), record };
}
