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

/** At most this many levels of nesting: `{"a":{"b":1}}` is 2 deep. */
export const META_MAX_DEPTH = 16;

const encoder = new TextEncoder();

/**
 * What is wrong with a would-be meta as a JSON object, before anything parses
 * it recursively (a 4 KB body can nest 2,000 deep, and a recursive check
 * overflows the stack on it: threats.md 73): its kind, its depth, walked with a
 * stack of its own, then its size. Null when it is a plain object within bounds.
 */
export function metaProblem(value: unknown): string | null {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return "must be a JSON object";
  const pending: [unknown, number][] = [[value, 1]];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [node, depth] = next;
    if (typeof node !== "object" || node === null) continue;
    if (depth > META_MAX_DEPTH) return `must be nested at most ${META_MAX_DEPTH} levels deep`;
    for (const child of Object.values(node)) if (typeof child === "object" && child !== null) pending.push([child, depth + 1]);
  }
  if (metaBytes(value as KeyMeta) > META_MAX_BYTES) return `must be at most ${META_MAX_BYTES} bytes as JSON`;
  return null;
}

/** Size of the meta as JSON, in UTF-8 bytes. */
export const metaBytes = (meta: KeyMeta) => encoder.encode(JSON.stringify(meta)).byteLength;

/** `X-Keyward-Meta`: base64url (no padding) of the UTF-8 JSON, so any content is a safe header value. */
export function metaHeader(meta: KeyMeta): string {
  const bytes = encoder.encode(JSON.stringify(meta));
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
}
