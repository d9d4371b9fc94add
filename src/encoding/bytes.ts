/**
 * Byte encodings on the request path. V8 in workerd has the native
 * Uint8Array.prototype.toBase64 / toHex (TC39 "Uint8Array to/from base64"); they
 * cost a fraction of the string building below, which stays as the fallback for
 * runtimes without them (docs/performance.md).
 */
type NativeCodec = {
  toBase64?: (this: Uint8Array, options: { alphabet: "base64url"; omitPadding: boolean }) => string;
  toHex?: (this: Uint8Array) => string;
};
const native = Uint8Array.prototype as unknown as NativeCodec;
const toBase64 = native.toBase64;
const toHex = native.toHex;

/** The fallbacks alone, so that tests can hold the native and the JavaScript paths to the same output. */
export const fallback = {
  base64url(bytes: Uint8Array): string {
    let binary = "";
    for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    return btoa(binary).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
  },
  hex(bytes: Uint8Array): string {
    let out = "";
    for (const b of bytes) out += b.toString(16).padStart(2, "0");
    return out;
  },
};

/** base64url without padding (RFC 7515, 2). */
export function base64url(bytes: Uint8Array): string {
  return toBase64 !== undefined ? toBase64.call(bytes, { alphabet: "base64url", omitPadding: true }) : fallback.base64url(bytes);
}

/** Lowercase hex. */
export function hex(bytes: Uint8Array): string {
  return toHex !== undefined ? toHex.call(bytes) : fallback.hex(bytes);
}
