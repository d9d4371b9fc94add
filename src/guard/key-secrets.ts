/**
 * Which of a key's secrets its guard accepts, once the key has been rolled
 * (POST …/keys/{id}/roll: a new secret for the same key). A secret is named by
 * its tag: the first 16 hex characters (64 bits) of its SHA-256, which the
 * gateway has computed anyway to find the key's record, so telling the guard
 * costs no extra read or RPC. 64 bits tell a key's own few secrets apart; the tag
 * is not a lookup key for anything. Pure: every decision takes `now`.
 */

/** Hex characters of a secret's SHA-256 that name it to the guard. */
export const SECRET_TAG_LENGTH = 16;

/** Replaced secrets kept in their grace at once, at most; a roll past this ends the oldest grace early. */
export const MAX_PREVIOUS_SECRETS = 8;

/** The tag of a secret, from its SHA-256 (lowercase hex). */
export function secretTag(hash: string): string {
  return hash.slice(0, SECRET_TAG_LENGTH);
}

/** A rolled key's secrets: the current one, and replaced ones still in their grace. Absent on a key never rolled. */
export interface KeySecrets {
  current: string;
  previous: { tag: string; until: number }[];
}

/**
 * Whether a request made with the secret `tag` may go on. A key never rolled
 * accepts its one secret. Once rolled: the current secret, or a replaced one
 * before its grace ends; anything else, and a caller that names no secret
 * (fail closed), is refused like a revoked key.
 */
export function secretAccepted(secrets: KeySecrets | undefined, tag: string | undefined, now: number): boolean {
  if (secrets === undefined) return true;
  if (tag === undefined) return false;
  if (tag === secrets.current) return true;
  return secrets.previous.some((p) => p.tag === tag && now < p.until);
}

/**
 * The secrets after a roll at `now`: `next` is current; the replaced one keeps
 * working until `until`; earlier replaced ones keep their own grace (a second
 * roll does not cut short the first one's), ended ones are dropped.
 */
export function rolled(secrets: KeySecrets | undefined, replaced: string, next: string, until: number, now: number): KeySecrets {
  const kept = (secrets?.previous ?? []).filter((p) => now < p.until && p.tag !== replaced && p.tag !== next);
  const previous = until > now ? [...kept, { tag: replaced, until }] : kept;
  return { current: next, previous: previous.slice(-MAX_PREVIOUS_SECRETS) };
}
