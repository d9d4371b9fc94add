/**
 * Key metadata: a small JSON object an admin attaches to a key (plan name,
 * customer id, anything the origin needs to serve the caller). It is sent to the
 * origin on every admitted request, in the signed context token (`meta` claim)
 * and as `X-Keyward-Meta`. It is shown to every admin of the org and in every
 * origin log that records headers: never a place for secrets.
 */
export type KeyMeta = Record<string, unknown>;

/** At most this many bytes of UTF-8 JSON. */
export const META_MAX_BYTES = 1024;

const encoder = new TextEncoder();

/** Size of the meta as JSON, in UTF-8 bytes. */
export const metaBytes = (meta: KeyMeta) => encoder.encode(JSON.stringify(meta)).byteLength;

/** `X-Keyward-Meta`: base64url (no padding) of the UTF-8 JSON, so any content is a safe header value. */
export function metaHeader(meta: KeyMeta): string {
  const bytes = encoder.encode(JSON.stringify(meta));
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
}
