/**
 * How identity values travel in `X-Keyward-*` headers. Header values are bytes,
 * and origins read non-ASCII bytes differently (Node reads them as Latin-1), so
 * a value is sent percent-encoded (UTF-8) wherever it has a character outside
 * printable ASCII, or a `%`. Printable ASCII without `%` (almost every subject:
 * `user_2abc`, `auth0|abc`) is unchanged. `decodeKeywardHeader` in
 * keyward/origin undoes it; the signed `X-Keyward-Context` carries the exact value.
 */
export function encodeHeaderValue(value: string): string {
  return value.replace(/[^\x20-\x24\x26-\x7e]+/g, (run) => encodeURIComponent(run));
}

/**
 * Characters no identity value may hold, whatever the encoding: C0 and C1
 * controls (CR/LF would end a header; NUL and ESC have no place in a name) and
 * the Unicode bidirectional controls, which make text display in another order
 * than it is stored (U+202E shows `user_txt.exe` as `user_exe.txt`).
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: the check is for exactly these
export const UNSAFE_TEXT = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

// A lone surrogate has no UTF-8 form: it could be neither encoded nor compared.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Whether a value (a user token's subject) can travel as an identity header at all. */
export function isSafeIdentity(value: string): boolean {
  return value !== "" && value.length <= 1024 && !UNSAFE_TEXT.test(value) && !LONE_SURROGATE.test(value);
}
