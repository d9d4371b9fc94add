/**
 * The closed set of error codes of docs/contract.md and the one error type that carries
 * them. Services return tagged results for expected failures; only the HTTP
 * layer turns a `KeywardError` into a response (see `http/error-response.ts`).
 */
export const ERROR_CODES = [
  "MISSING_AUTH_HEADER",
  "INVALID_API_KEY",
  "KEY_REVOKED",
  "KEY_EXPIRED",
  "KEY_DISABLED",
  "RATE_LIMITED",
  "QUOTA_EXCEEDED",
  "INVALID_USER_TOKEN",
  "INVALID_SESSION",
  "CROSS_SITE_REQUEST",
  "INSUFFICIENT_PERMISSIONS",
  "ORG_MISMATCH",
  "IP_NOT_ALLOWED",
  "INVALID_REQUEST",
  "NOT_FOUND",
  "METHOD_NOT_ALLOWED",
  "CONFLICT",
  "HOLD_EXPIRED",
  "ORIGIN_UNAVAILABLE",
  "ORIGIN_TIMEOUT",
  "AUTH_BACKEND_UNAVAILABLE",
  "INTERNAL_ERROR",
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** Exhaustive code -> HTTP status map; adding a code without a status fails to compile. */
export function statusOf(code: ErrorCode): 400 | 401 | 403 | 404 | 405 | 409 | 429 | 500 | 502 | 503 | 504 {
  switch (code) {
    case "MISSING_AUTH_HEADER":
    case "INVALID_API_KEY":
    case "INVALID_USER_TOKEN":
    case "INVALID_SESSION":
      return 401;
    case "KEY_REVOKED":
    case "KEY_EXPIRED":
    case "KEY_DISABLED":
    case "INSUFFICIENT_PERMISSIONS":
    case "ORG_MISMATCH":
    case "IP_NOT_ALLOWED":
    case "CROSS_SITE_REQUEST":
      return 403;
    case "RATE_LIMITED":
    case "QUOTA_EXCEEDED":
      return 429;
    case "INVALID_REQUEST":
      return 400;
    case "NOT_FOUND":
      return 404;
    case "METHOD_NOT_ALLOWED":
      return 405;
    case "CONFLICT":
    case "HOLD_EXPIRED":
      return 409;
    case "ORIGIN_UNAVAILABLE":
      return 502;
    case "ORIGIN_TIMEOUT":
      return 504;
    case "AUTH_BACKEND_UNAVAILABLE":
      return 503;
    case "INTERNAL_ERROR":
      return 500;
  }
}

export interface KeywardErrorOptions {
  /** Extra response headers (Retry-After, RateLimit fields, WWW-Authenticate). */
  headers?: Record<string, string>;
  /** RFC 6750 `error` attribute for the WWW-Authenticate challenge of a 401/403. */
  bearerError?: "invalid_request" | "invalid_token" | "insufficient_scope";
  /** Machine-readable detail for admin API validation errors (the field at fault). */
  field?: string;
  /** What was done before a failure part-way (counts), so the caller knows what a repeat will complete. */
  detail?: Record<string, unknown>;
  /** RATE_LIMITED: the name of the window that refused (`"limit"` in the body). */
  limit?: string;
}

export class KeywardError extends Error {
  readonly code: ErrorCode;
  readonly status: ReturnType<typeof statusOf>;
  readonly options: KeywardErrorOptions;

  constructor(code: ErrorCode, message: string, options: KeywardErrorOptions = {}) {
    super(message);
    this.name = "KeywardError";
    this.code = code;
    this.status = statusOf(code);
    this.options = options;
  }
}

/** 503 with Retry-After: the answer whenever Keyward cannot verify (fail closed). */
export function backendUnavailable(what: string, retryAfterSeconds = 1): KeywardError {
  return new KeywardError(
    "AUTH_BACKEND_UNAVAILABLE",
    `Keyward could not verify this request because ${what} is unavailable. Retry after ${retryAfterSeconds} s; the request was not forwarded.`,
    { headers: { "Retry-After": String(retryAfterSeconds) } },
  );
}
