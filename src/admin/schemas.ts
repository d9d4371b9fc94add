import * as z from "zod";
import { ERROR_CODES } from "../errors";
import { MAX_CREDITS } from "../guard/credits";
import { UNSAFE_TEXT } from "../identity/identity-headers";
import { META_MAX_BYTES, metaProblem } from "../identity/key-meta";
import { KEY_ID_PATTERN } from "../keys/key-format";
import { SCOPE_PATTERN, SCOPE_RULE } from "../keys/key-model";
import { AUDIT_ACTIONS } from "../ledger/audit-actions";
import { MAX_ALLOWED_IPS, normaliseAllowList } from "../net/ip-allow-list";

/**
 * Admin API input and output, as Zod schemas. They validate requests and are
 * also the source of /_keyward/v1/openapi.json, so the two cannot drift apart.
 */
export const isoTime = z.iso.datetime({ offset: true }).describe("RFC 3339 timestamp, e.g. 2027-01-31T00:00:00Z");

const wholeCredits = z.number().int("must be a whole number").min(0, "must be 0 or more").max(MAX_CREDITS, `must be at most ${MAX_CREDITS}`);

/** Credits at creation: a balance, optionally refilled daily or monthly (UTC; src/guard/credits.ts). */
export const creditsInput = z
  .strictObject({
    remaining: wholeCredits.describe("the starting balance; each admitted request spends its route's cost (default 1)"),
    refill: z
      .strictObject({
        interval: z.enum(["daily", "monthly"]),
        amount: wholeCredits.describe("a refill sets the balance to this (unused credits do not roll over)"),
        refillDay: z
          .number()
          .int("must be a whole number")
          .min(1, "must be 1-31")
          .max(31, "must be 1-31")
          .optional()
          .describe("monthly only: day of the month (UTC), default 1; past a month's end means its last day"),
      })
      .refine((r) => r.interval === "monthly" || r.refillDay === undefined, { message: "is for monthly refills only", path: ["refillDay"] })
      .optional()
      .describe("refilled at 00:00 UTC every day, or on refillDay every month"),
    alertBelow: wholeCredits
      .optional()
      .describe(
        "a credits.low webhook event when the balance falls below this, once per crossing (again only after a top-up lifts it above); credits.exhausted at zero",
      ),
  })
  .describe("omit for an unlimited key");

export const creditsBody = z
  .strictObject({
    operation: z.enum(["set", "increment", "decrement"]),
    value: wholeCredits.optional().describe("required for increment and decrement; set without a value makes the key unlimited and clears its refill"),
    alertBelow: wholeCredits.nullable().optional().describe("sets (null: clears) the balance below which a credits.low event is raised"),
  })
  .refine((b) => b.operation === "set" || b.value !== undefined, { message: "is required for increment and decrement", path: ["value"] });

/**
 * Key metadata: a JSON object of at most 1 KiB, 16 levels deep (src/identity/key-meta.ts).
 * The values are not parsed by a recursive schema (`z.json()` overflows the stack on a
 * body nested 2,000 deep); depth and size are checked by a walk of its own. A body is
 * parsed JSON, so every value is JSON already. Never a place for secrets.
 */
export const metaInput = z
  .record(z.string(), z.unknown(), { error: `must be a JSON object of at most ${META_MAX_BYTES} bytes` })
  .superRefine((value, ctx) => {
    const problem = metaProblem(value);
    if (problem !== null) ctx.addIssue({ code: "custom", message: problem });
  })
  .describe("sent to the origin with every request (context token `meta` claim, X-Keyward-Meta); shown to admins; never put secrets here");

// Labels are shown in terminals, logs and the console: a control character (NUL,
// ESC sequences, CR/LF) or a bidi override (U+202E) could forge or reorder what
// an admin sees, so they are refused rather than stripped.
const keyLabel = z
  .string()
  .trim()
  .min(1, "must not be empty")
  .max(100, "must be at most 100 characters")
  .refine((label) => !UNSAFE_TEXT.test(label), "must not contain control characters or bidirectional-control characters (such as U+202E)");

export const patchKeyBody = z
  .strictObject({
    meta: metaInput.nullable().optional().describe("replaces the key's metadata; null removes it"),
    label: keyLabel.optional().describe("renames the key (admins see it; the origin does not)"),
  })
  .refine((b) => b.meta !== undefined || b.label !== undefined, { message: "send meta, label or both", path: ["meta"] });

export const createKeyBody = z.strictObject({
  label: keyLabel,
  environment: z.enum(["live", "test"]).optional().describe("live (default) or test; test keys can be routed to ORIGIN_URL_TEST"),
  scopes: z
    .array(z.string().regex(SCOPE_PATTERN, `must be ${SCOPE_RULE}`))
    .max(64)
    .optional()
    .describe("default: everything the org may do"),
  expiresAt: isoTime.optional(),
  allowedIps: z
    .array(
      z
        .string()
        .max(64, "must be at most 64 characters")
        .refine((entry) => normaliseAllowList([entry]).ok, "must be an IPv4 or IPv6 address or CIDR, e.g. 203.0.113.0/24 or 2001:db8::/32"),
    )
    // An empty list would read as "nobody" to some and "anybody" to others: it is refused. Any address is
    // no list at all; every IPv4 address is 0.0.0.0/0 and every IPv6 one ::/0 (each covers its family only).
    .min(1, "must not be empty: leave allowedIps out for any address, or list 0.0.0.0/0 and ::/0")
    .max(MAX_ALLOWED_IPS, `must have at most ${MAX_ALLOWED_IPS} entries`)
    .optional()
    .describe(
      "client addresses (CF-Connecting-IP) the key may be used from; default (left out): any. Not empty. 0.0.0.0/0 is every IPv4 address and no IPv6 one; ::/0 every IPv6 one. Fixed for the key's life: a new list means a rotated key",
    ),
  credits: creditsInput.optional(),
  meta: metaInput.optional(),
});

export const revokeAllBody = z.strictObject({
  confirm: z.string().max(128).optional().describe("the org id, typed again: the call revokes every matching key; required unless dryRun"),
  dryRun: z.boolean().optional().describe("true: revoke nothing, answer how many keys the same call would revoke (the console's confirmation says it)"),
  environment: z.enum(["live", "test"]).optional().describe("only keys of this environment"),
  createdBefore: isoTime.optional().describe("only keys created before this time"),
  labelPrefix: z.string().min(1).max(100).optional().describe("only keys whose label starts with this"),
});

export const revokeAllResult = z.object({
  revoked: z.number().int().describe("keys revoked; with dryRun, keys the call would revoke"),
  alreadyRevoked: z.number().int(),
  dryRun: z.boolean().optional().describe("true when nothing was revoked (a dry run)"),
});

export const revokeBody = z.strictObject({
  at: isoTime.optional().describe("revoke later, for a rotation grace period; default now"),
});

/** Actions that take no input (disable, enable): an empty body or `{}`. */
export const emptyBody = z.strictObject({});

export const rateLimitBody = z.strictObject({
  limit: z.number().int("must be a whole number").min(0).max(1_000_000),
  windowSeconds: z.number().int("must be a whole number").min(1).max(86_400),
});

/** The most named windows one key may have: each is checked on every request. */
export const MAX_NAMED_LIMITS = 8;

/** One named window of a key: in any `windowSeconds`, at most `limit` requests, or `limit` charged units. */
export const namedLimit = z.strictObject({
  name: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, "must be 1-32 lowercase letters, digits, _ or -, starting with a letter or digit")
    .describe("named in the 429 body (limit) and in the RateLimit headers"),
  limit: wholeCredits.describe("requests, or charged units, in any window of windowSeconds"),
  windowSeconds: z.number().int("must be a whole number").min(1, "must be 1 to 86400").max(86_400, "must be 1 to 86400"),
  unit: z
    .enum(["requests", "charge"], { error: 'must be "requests" or "charge"' })
    .default("requests")
    .describe("requests (default): each admitted request counts 1; charge: each counts what it is charged (a metered route's hold, corrected when it settles)"),
});

/**
 * PUT /orgs/{org}/keys/{id}/rate-limit: `{limit, windowSeconds}` (one requests
 * window, as before), or `{limits: [...]}`: named windows, the first of unit
 * requests being the key's main window (the one the key record shows).
 */
export const keyRateLimitBody = z
  .strictObject({
    limit: rateLimitBody.shape.limit.optional(),
    windowSeconds: rateLimitBody.shape.windowSeconds.optional(),
    limits: z.array(namedLimit).min(1, "must name at least one window").max(MAX_NAMED_LIMITS, `must name at most ${MAX_NAMED_LIMITS} windows`).optional(),
    admission: z
      .enum(["central", "local"], { error: 'must be "central" or "local"' })
      .optional()
      .describe(
        '"local": admitted from leases near the callers, exact across locations (docs/contract.md, local admission); absent: unchanged (a new key is "central")',
      ),
  })
  .superRefine((b, ctx) => {
    if (b.limits === undefined) {
      for (const field of ["limit", "windowSeconds"] as const)
        if (b[field] === undefined) ctx.addIssue({ code: "custom", path: [field], message: "is required (or send limits: [...] instead)" });
      return;
    }
    if (b.limit !== undefined || b.windowSeconds !== undefined)
      ctx.addIssue({ code: "custom", path: ["limits"], message: "cannot be sent with limit and windowSeconds: put that window in the list" });
    const names = b.limits.map((l) => l.name);
    const twice = names.findIndex((n, i) => names.indexOf(n) !== i);
    if (twice >= 0) ctx.addIssue({ code: "custom", path: ["limits", twice, "name"], message: `names ${names[twice]} twice` });
    if (!b.limits.some((l) => l.unit === "requests"))
      ctx.addIssue({ code: "custom", path: ["limits"], message: 'must hold at least one window of unit "requests" (the key\'s main window)' });
  });

/** Org credits: the same shape as a key's credits at creation; every admitted request of every key of the org spends from them. */
export const orgCreditsBody = creditsInput.describe("the org's credits, spent by every admitted request of every key of the org");

/** GET and PUT /orgs/{org}/credits. */
export const orgCreditsView = z.object({
  remaining: z.number().int().describe("the live balance, after any refill due, open holds taken out"),
  refill: z.object({ interval: z.enum(["daily", "monthly"]), amount: z.number().int(), refillDay: z.number().int().nullable() }).nullable(),
  nextRefillAt: isoTime.nullable(),
  alertBelow: z.number().int().nullable().describe("the balance below which credits.low is raised; null: no alert"),
  keys: z.number().int().optional().describe("PUT only: unrevoked keys whose guards now spend from the org credits"),
});
export const orgCreditsCleared = z.object({ remaining: z.null(), keys: z.number().int().describe("unrevoked keys whose guards were told") });

/** PUT and DELETE /orgs/{org}/rate-limit: the org's shared limit now, and how many key guards were told. */
export const orgLimitSet = rateLimitBody.extend({ keys: z.number().int().describe("unrevoked keys whose guards now hold the limit") });
export const orgLimitCleared = z.object({ limit: z.null(), keys: z.number().int().describe("unrevoked keys whose guards were told") });

/** One hold of a metered request (docs/metering.md). */
const holdView = z.object({
  requestId: z.string(),
  at: isoTime,
  reserve: z.number().int(),
  expiresAt: isoTime,
  charge: z.number().int().nullable().describe("null while open"),
  closedBy: z.enum(["settle", "expiry"]).nullable(),
  uncharged: z.number().int().describe("what a charge above the reserve could not take because the balance ran out"),
});

export const keyView = z.object({
  id: z.string(),
  prefix: z.string(),
  label: z.string(),
  environment: z.enum(["live", "test"]),
  scopes: z.array(z.string()).nullable(),
  status: z.enum(["active", "revoked", "expired", "disabled"]),
  createdAt: isoTime,
  createdBy: z.string(),
  lastUsedAt: isoTime.nullable(),
  revokedAt: isoTime.nullable(),
  revokeAt: isoTime.nullable(),
  expiresAt: isoTime.nullable(),
  disabledAt: isoTime.nullable().describe("when an admin suspended the key (status disabled); null while enabled"),
  rateLimit: z.object({ limit: z.number().int(), windowSeconds: z.number().int(), admission: z.enum(["central", "local"]) }),
  limits: z
    .array(z.object({ name: z.string(), limit: z.number().int(), windowSeconds: z.number().int(), unit: z.enum(["requests", "charge"]) }))
    .optional()
    .describe("the key's named windows, as its guard holds them (one key's view only; absent from listings)"),
  holds: z
    .object({
      open: z.array(holdView).describe("metered requests not yet settled, newest first"),
      recent: z.array(holdView).describe("the latest settlements and expiries, newest first"),
    })
    .optional()
    .describe("metered requests (docs/metering.md), as the key's guard holds them (one key's view only)"),
  allowedIps: z.array(z.string()).nullable().describe("normalised CIDRs; null: any address"),
  meta: z.record(z.string(), z.unknown()).nullable().describe("admin-set metadata sent to the origin; null: none"),
  credits: z
    .object({
      remaining: z.number().int().describe("the live balance, after any refill due"),
      refill: z.object({ interval: z.enum(["daily", "monthly"]), amount: z.number().int(), refillDay: z.number().int().nullable() }).nullable(),
      nextRefillAt: isoTime.nullable(),
      alertBelow: z.number().int().nullable().describe("the balance below which credits.low is raised; null: no alert"),
    })
    .nullable()
    .describe("null: unlimited"),
  leaked: z
    .object({ at: isoTime, url: z.string().nullable(), source: z.string() })
    .nullable()
    .describe("set when the key was reported leaked: when, where it was found, by whom (secret-scanning:github or report)"),
});

export const createdKey = keyView.extend({ key: z.string().describe("the API key: shown in this response only, never again") });
export const keyList = z.object({
  keys: z.array(keyView),
  nextCursor: z.string().nullable().describe("pass as ?cursor= for the next page, with the same sort, status, environment and q; null on the last page"),
});

/** Query of GET /orgs/{org}/keys. */
export const keyListQuery = z.strictObject({
  limit: z.coerce.number().int("must be a whole number").min(1).max(1000).default(100).describe("keys per page, 1-1000 (default 100)"),
  cursor: z.string().min(1).max(512).optional().describe("nextCursor of the previous page"),
  status: z
    .enum(["active", "revoked", "expired", "disabled", "revoking"])
    .optional()
    .describe("only keys of this status; revoking: active keys whose revocation is scheduled"),
  environment: z.enum(["live", "test"]).optional(),
  q: z
    .string()
    // Before trimming: a tab or newline alone (`q=%09`) is refused, not read as an empty search.
    .refine((q) => !UNSAFE_TEXT.test(q), "must not contain control characters or bidirectional-control characters")
    .trim()
    .max(100, "must be at most 100 characters")
    .optional()
    .describe("search: a part of the label (any case), or the start of the key's prefix or id; empty: every key"),
  sort: z.enum(["created", "lastUsed"]).default("created").describe("created: newest first; lastUsed: most recently used first, never used last"),
});
/**
 * A key named where a view mentions it, so that a reader needs no listing to name it.
 * Null when the ledger no longer holds the key. (Every reader of these views may list the org's keys.)
 */
export const keyName = {
  keyLabel: z.string().nullable().describe("the key's label; null if the key is gone"),
  keyPrefix: z.string().nullable().describe("the key's display prefix; null as keyLabel"),
};
export const auditList = z.object({
  events: z.array(
    z.object({
      at: isoTime,
      actor: z.string(),
      action: z.string(),
      keyId: z.string(),
      ...keyName,
      requestId: z.string(),
      detail: z.record(z.string(), z.unknown()),
      count: z
        .number()
        .int()
        .describe("how many times this happened: 1, or more for key.leak_reported_again repeated within a minute of this entry (at is the first)"),
    }),
  ),
  nextCursor: z.string().nullable().describe("pass as ?cursor= for older entries, with the same filters; null on the last page"),
});

/** Query of GET /orgs/{org}/audit. */
export const auditListQuery = z.strictObject({
  limit: z.coerce.number().int("must be a whole number").min(1).max(1000).default(100).describe("entries per page, 1-1000 (default 100)"),
  cursor: z.string().min(1).max(512).optional().describe("nextCursor of the previous page"),
  key: z.string().regex(KEY_ID_PATTERN, "must be a key id (key_…)").optional().describe("only entries about this key"),
  action: z.enum(AUDIT_ACTIONS).optional().describe("only entries of this action"),
  actor: z
    .string()
    .min(1)
    .max(256, "must be at most 256 characters")
    .refine((a) => !UNSAFE_TEXT.test(a), "must not contain control characters")
    .optional()
    .describe("only entries by this actor, exactly as listed (user:…, operator, report, secret-scanning:github, keyward:schedule)"),
  since: isoTime.optional().describe("only entries at or after this time"),
  until: isoTime.optional().describe("only entries before this time"),
});
/** Every refusal (http/error-response.ts): `code` is one of the closed set of src/errors.ts. */
export const errorBody = z.object({
  code: z.enum(ERROR_CODES),
  message: z.string().describe("what went wrong and what to do, in a sentence"),
  requestId: z.string(),
  field: z.string().optional().describe("the input at fault (INVALID_REQUEST): a parameter, a body field such as scopes.0, or body"),
  detail: z.record(z.string(), z.unknown()).optional().describe("what was done before a failure part-way, so a repeat completes it"),
});
