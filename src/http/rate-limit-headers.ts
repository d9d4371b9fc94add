import type { RateState } from "../guard/guard-types";

/**
 * IETF RateLimit header fields (draft-ietf-httpapi-ratelimit-headers-09/10):
 *   RateLimit-Policy: "default";q=60;w=60
 *   RateLimit: "default";r=59;t=42
 * `t` is the number of seconds until the oldest admission leaves the window.
 */
export function rateLimitHeaders(state: RateState): Record<string, string> {
  return {
    "RateLimit-Policy": `"default";q=${state.limit};w=${state.windowSeconds}`,
    RateLimit: `"default";r=${Math.max(0, state.remaining)};t=${Math.max(0, Math.ceil(state.resetMs / 1000))}`,
  };
}

/** Whole seconds until a request would be admitted; never 0 or negative. */
export function retryAfterSeconds(retryAfterMs: number): number {
  return Math.max(1, Math.ceil(retryAfterMs / 1000));
}
