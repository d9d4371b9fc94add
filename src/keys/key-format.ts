import { hex } from "../encoding/bytes";
import { crc32Hex } from "./crc32";

/**
 * API key format (docs/contract.md, Credentials):
 *   <type>_<live|test>_<32 hex random><8 hex CRC32 of everything before it>
 * The checksum lets a truncated or mistyped key be refused without any lookup,
 * and gives secret scanners a format they can verify.
 */
export type KeyEnvironment = "live" | "test";

export type ParsedKey = { ok: true; key: string; environment: KeyEnvironment; displayPrefix: string } | { ok: false; reason: "malformed" | "checksum" };

const RANDOM_HEX = 32;
const CHECKSUM_HEX = 8;
const TYPE_PREFIX = /^[a-z][a-z0-9]{0,15}$/;

export function assertTypePrefix(typePrefix: string): void {
  if (!TYPE_PREFIX.test(typePrefix)) {
    throw new Error(`KEY_TYPE_PREFIX must be 1-16 lowercase letters or digits starting with a letter, got ${JSON.stringify(typePrefix)}`);
  }
}

/** Builds the parser for one deployment's type prefix (validated once). */
export function keyParser(typePrefix: string): (candidate: string) => ParsedKey {
  assertTypePrefix(typePrefix);
  const shape = new RegExp(`^${typePrefix}_(live|test)_([0-9a-f]{${RANDOM_HEX}})([0-9a-f]{${CHECKSUM_HEX}})$`);
  return function parseKey(candidate: string): ParsedKey {
    const match = shape.exec(candidate);
    if (!match) return { ok: false, reason: "malformed" };
    const [, environment, random, checksum] = match as unknown as [string, KeyEnvironment, string, string];
    const body = `${typePrefix}_${environment}_${random}`;
    if (crc32Hex(body) !== checksum) return { ok: false, reason: "checksum" };
    return { ok: true, key: candidate, environment, displayPrefix: `${typePrefix}_${environment}_${random.slice(0, 8)}` };
  };
}

/** A fresh key: 128 bits from crypto.getRandomValues, plus its checksum. */
export function generateKey(typePrefix: string, environment: KeyEnvironment): { key: string; displayPrefix: string } {
  assertTypePrefix(typePrefix);
  const random = hex(crypto.getRandomValues(new Uint8Array(RANDOM_HEX / 2)));
  const body = `${typePrefix}_${environment}_${random}`;
  return { key: body + crc32Hex(body), displayPrefix: `${typePrefix}_${environment}_${random.slice(0, 8)}` };
}

const encoder = new TextEncoder();

/** SHA-256 of the key, lowercase hex: the only form in which a key is stored. */
export async function hashKey(key: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", encoder.encode(key));
  return hex(new Uint8Array(digest));
}

/** A random identifier such as `key_3f9a…`: public, not a secret. */
/** A key's public id, as randomId("key") makes it. The one definition; every check uses it. */
export const KEY_ID_PATTERN = /^key_[0-9a-f]{20}$/;

export function randomId(prefix: string): string {
  return `${prefix}_${hex(crypto.getRandomValues(new Uint8Array(10)))}`;
}
