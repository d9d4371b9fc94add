import { base64url, hex } from "../encoding/bytes";

/**
 * The secrets of console sessions. A session secret and a portal link code are
 * 256 random bits each, and only their SHA-256 is stored (a leaked storage dump
 * opens no session). The session cookie carries the org (which Durable Object
 * holds the session) and the secret: `<org>.<secret>`.
 */

const encoder = new TextEncoder();
const SECRET = /^[A-Za-z0-9_-]{43}$/;
const ORG = /^[A-Za-z0-9_-]{1,128}$/;

/** 32 random bytes, base64url: 256 bits, more than the 128 the contract asks for. */
export function newSecret(): string {
  return base64url(crypto.getRandomValues(new Uint8Array(32)));
}

/** Whether a string has the form of a secret made by newSecret (checked before any hashing or storage). */
export function isSecret(value: string): boolean {
  return SECRET.test(value);
}

/** The stored form of a secret: lowercase hex SHA-256. */
export async function secretHash(secret: string): Promise<string> {
  return hex(new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(secret))));
}

/**
 * The session's CSRF token, derived from its secret: the console reads it from
 * GET /session (same origin) and sends it in X-Keyward-CSRF on every unsafe call.
 * A cross-site page can neither read that answer nor the HttpOnly cookie, so it
 * cannot produce the header; deriving it means no second secret is stored.
 */
export async function csrfToken(secret: string): Promise<string> {
  return base64url(new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(`keyward-csrf\u0000${secret}`))));
}

/** The cookie's value for a session of `org`. */
export function cookieValue(org: string, secret: string): string {
  return `${org}.${secret}`;
}

/** Splits a cookie value; null for anything that is not one (never a lookup for garbage). */
export function parseCookieValue(value: string): { org: string; secret: string } | null {
  const dot = value.lastIndexOf(".");
  if (dot < 0) return null;
  const org = value.slice(0, dot);
  const secret = value.slice(dot + 1);
  return ORG.test(org) && SECRET.test(secret) ? { org, secret } : null;
}
