/**
 * How long console sessions and portal links last, and when a session in use is
 * renewed. Pure: every decision takes `now`, so tests pass a fake clock.
 */

/** A portal link works once, within this long of its minting (docs/threats.md: replay of a link). */
export const LINK_TTL_MS = 5 * 60_000;
/** A session unused for this long has ended; each use within it extends it (bounded by SESSION_MAX_MS). */
export const SESSION_IDLE_MS = 60 * 60_000;
/** No session lives longer than this from its start, however busy: a stolen cookie has an end. */
export const SESSION_MAX_MS = 12 * 60 * 60_000;
/**
 * A session is renewed (a storage write and a fresh cookie) at most this often:
 * a console loading a page makes a handful of calls, and one write covers them.
 */
export const RENEW_AFTER_MS = 60_000;
/** Used and expired links are kept this long after they expire, so that a late visit is told "already used". */
export const LINK_KEEP_MS = 24 * 60 * 60_000;

/** Who a session is, and how it was started. */
export type SessionVia = "portal" | "oidc";

/** The timestamps a session starts with. */
export function sessionTimes(now: number): { createdAt: number; seenAt: number; idleUntil: number; endsAt: number } {
  return { createdAt: now, seenAt: now, idleUntil: now + SESSION_IDLE_MS, endsAt: now + SESSION_MAX_MS };
}

/** The session's end as it stands: idle expiry or its hard end, whichever comes first. */
export function expiresAt(session: { idleUntil: number; endsAt: number }): number {
  return Math.min(session.idleUntil, session.endsAt);
}

/** Whether a session used at `now` is still open. */
export function isOpen(session: { idleUntil: number; endsAt: number }, now: number): boolean {
  return now < expiresAt(session);
}

/** The new idle expiry when a use at `now` renews the session, or null when it need not be written yet. */
export function renewal(session: { seenAt: number; endsAt: number }, now: number): number | null {
  if (now - session.seenAt < RENEW_AFTER_MS) return null;
  return Math.min(now + SESSION_IDLE_MS, session.endsAt);
}
