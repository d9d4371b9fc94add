import type { CreditState, RateState } from "../guard/guard-types";

/**
 * IETF RateLimit header fields (draft-ietf-httpapi-ratelimit-headers-09/10):
 *   RateLimit-Policy: "default";q=60;w=60, "quota";q=50000
 *   RateLimit: "default";r=59;t=42, "quota";r=49731;t=86400
 * For the window, `t` is the number of seconds until the oldest admission leaves
 * it. A key with credits adds a second policy, "quota": `q` is what a refill sets
 * the balance to (or the balance itself without a refill), `r` the balance left,
 * and `t` the seconds until the next refill (absent when there is none). A key
 * with named windows lists each by its name (the main one "default" unless named).
 */
export function rateLimitHeaders(state: RateState, now: number): Record<string, string> {
  const main = state.name ?? "default";
  const policy = [`"${main}";q=${state.limit};w=${state.windowSeconds}`];
  const remaining = [`"${main}";r=${Math.max(0, state.remaining)};t=${Math.max(0, Math.ceil(state.resetMs / 1000))}`];
  // Each named window by its name (docs/metering.md); names are [a-z0-9_-], safe inside quotes.
  for (const w of state.windows ?? []) {
    policy.push(`"${w.name}";q=${w.limit};w=${w.windowSeconds}`);
    remaining.push(`"${w.name}";r=${Math.max(0, w.remaining)};t=${Math.max(0, Math.ceil(w.resetMs / 1000))}`);
  }
  if (state.credits) {
    policy.push(quotaPolicy(state.credits));
    remaining.push(quotaRemaining(state.credits, now));
  }
  return { "RateLimit-Policy": policy.join(", "), RateLimit: remaining.join(", ") };
}

const quotaPolicy = (c: CreditState) => `"quota";q=${c.refillAmount ?? c.remaining}`;
const quotaRemaining = (c: CreditState, now: number) =>
  `"quota";r=${Math.max(0, c.remaining)}${c.nextRefillAt === null ? "" : `;t=${retryAfterSeconds(c.nextRefillAt - now)}`}`;

/** The "quota" policy alone, for a refusal for credits (QUOTA_EXCEEDED). */
export function quotaHeaders(credits: CreditState, now: number): Record<string, string> {
  return { "RateLimit-Policy": quotaPolicy(credits), RateLimit: quotaRemaining(credits, now) };
}

/** The org's shared window, for a refusal by it: `"org";q=50;w=60` and `"org";r=0;t=<retry after>`. */
export function orgLimitHeaders(limit: number, windowSeconds: number, retryAfter: number): Record<string, string> {
  return { "RateLimit-Policy": `"org";q=${limit};w=${windowSeconds}`, RateLimit: `"org";r=0;t=${retryAfter}` };
}

/** Whole seconds until a request would be admitted; never 0 or negative. */
export function retryAfterSeconds(retryAfterMs: number): number {
  return Math.max(1, Math.ceil(retryAfterMs / 1000));
}
