import * as z from "zod";
import { defineRoute } from "../http/route-def";
import { meView } from "./me-schema";
import { rollBody, rolledKey } from "./roll-schemas";
import { aKey, anomalyId, org, theKey } from "./route-params";
import {
  auditList,
  auditListQuery,
  createdKey,
  createKeyBody,
  creditsBody,
  emptyBody,
  keyList,
  keyListQuery,
  keyRateLimitBody,
  keyView,
  orgCreditsBody,
  orgCreditsCleared,
  orgCreditsView,
  orgLimitCleared,
  orgLimitSet,
  patchKeyBody,
  rateLimitBody,
  revokeAllBody,
  revokeAllResult,
  revokeBody,
} from "./schemas";
import { anomalyList, anomalyListQuery, anomalyView, keyUsageQuery, keyUsageView, orgUsageQuery, orgUsageView } from "./usage-schemas";

/**
 * Every route of the admin API under /_keyward/v1, defined once: who may call it,
 * what it takes and what it answers. admin-api.ts and usage-routes.ts mount each
 * with its handler; openapi.ts documents them; api-types.ts reads the console's
 * types off them. A route that is not here is not served (or re-exported here:
 * the session and webhook routes are defined in files of their own).
 */

// Defined in files of their own, and part of this table all the same.
export * from "./session-route-defs";
export * from "./webhook-route-defs";

export const openApiRoute = defineRoute({
  method: "get",
  path: "/openapi.json",
  summary: "This document",
  access: "public",
  reply: { status: 200, description: "the OpenAPI 3.1 document", schema: z.record(z.string(), z.unknown()) },
});

export const meRoute = defineRoute({
  method: "get",
  path: "/orgs/:org/me",
  summary: "Who this token is and what it may do in this organisation (any valid token; checked once at sign-in by the console)",
  access: "token",
  params: { org },
  reply: { status: 200, description: "the caller", schema: meView },
});

export const createKeyRoute = defineRoute({
  method: "post",
  path: "/orgs/:org/keys",
  summary:
    "Create a key (org admin or operator). The response holds the key, once. With credits, it grants money: an org admin gets 403 unless the org has org credits",
  access: "orgAdmin",
  params: { org },
  body: { schema: createKeyBody, required: true },
  reply: { status: 201, description: "created", schema: createdKey },
});

export const listKeysRoute = defineRoute({
  method: "get",
  path: "/orgs/:org/keys",
  summary: "One page of the org's keys (any user of the org, read-only for members; operator), with last use as reported by the guards",
  // Members read keys as they read usage (threats.md 52): every change stays the admins'.
  access: "orgUser",
  params: { org },
  query: keyListQuery,
  reply: { status: 200, description: "keys", schema: keyList },
});

export const getKeyRoute = defineRoute({
  method: "get",
  path: "/orgs/:org/keys/:id",
  summary: "One key (any user of the org; operator)",
  access: "orgUser",
  params: theKey,
  reply: aKey,
});

export const patchKeyRoute = defineRoute({
  method: "patch",
  path: "/orgs/:org/keys/:id",
  summary: "Replace a key's metadata (org admin or operator); the origin sees it from the next request; never put secrets in it",
  access: "orgAdmin",
  params: theKey,
  body: { schema: patchKeyBody, required: true },
  reply: aKey,
  // A revoked key takes no more changes (threats.md 77).
  errors: [409],
});

export const revokeAllRoute = defineRoute({
  method: "post",
  path: "/orgs/:org/keys/revoke-all",
  summary:
    "Org kill switch (org admin or operator): revoke every matching key now, guards first. confirm must repeat the org id (dryRun: count only, revoke nothing). A failure part-way is 503 with detail; repeating completes it",
  access: "orgAdminOrOperator",
  params: { org },
  body: { schema: revokeAllBody, required: true },
  reply: { status: 200, description: "counts", schema: revokeAllResult },
});

export const revokeKeyRoute = defineRoute({
  method: "post",
  path: "/orgs/:org/keys/:id/revoke",
  summary: "Revoke a key (org admin or operator); idempotent; in force before the response returns",
  access: "orgAdmin",
  params: theKey,
  body: { schema: revokeBody, required: false },
  reply: aKey,
});

export const keyRateLimitRoute = defineRoute({
  method: "put",
  path: "/orgs/:org/keys/:id/rate-limit",
  summary:
    "Change a key's rate limit (operator): {limit, windowSeconds}, or named windows {limits: [{name, limit, windowSeconds, unit: requests|charge}]}; in force on the next request, windows kept",
  access: "operator",
  params: theKey,
  body: { schema: keyRateLimitBody, required: true },
  reply: aKey,
  // A revoked key takes no more changes (threats.md 77).
  errors: [409],
});

export const disableKeyRoute = defineRoute({
  method: "post",
  path: "/orgs/:org/keys/:id/disable",
  summary: "Suspend a key (org admin or operator): 403 KEY_DISABLED from the next request; idempotent; nothing is consumed while disabled",
  access: "orgAdminOrOperator",
  params: theKey,
  body: { schema: emptyBody, required: false },
  reply: aKey,
  // A revoked key takes no more changes (threats.md 77).
  errors: [409],
});

export const enableKeyRoute = defineRoute({
  method: "post",
  path: "/orgs/:org/keys/:id/enable",
  summary: "Resume a suspended key (org admin or operator), with its window as it was; idempotent",
  access: "orgAdminOrOperator",
  params: theKey,
  body: { schema: emptyBody, required: false },
  reply: aKey,
  // A revoked key takes no more changes (threats.md 77).
  errors: [409],
});

export const creditsRoute = defineRoute({
  method: "post",
  path: "/orgs/:org/keys/:id/credits",
  summary:
    "Set, increment or decrement a key's credits (org admin or operator); set without a value makes it unlimited; applied in order with the key's traffic, in force on the next request. Set and increment grant money: an org admin gets 403 for them unless the org has org credits",
  access: "orgAdminOrOperator",
  params: theKey,
  body: { schema: creditsBody, required: true },
  reply: { status: 200, description: "the key with its new balance", schema: keyView },
  // A revoked key takes no more changes (threats.md 77).
  errors: [409],
});

export const getOrgLimitRoute = defineRoute({
  method: "get",
  path: "/orgs/:org/rate-limit",
  summary: "The org's shared rate limit (org admin or operator); 404 when it has none",
  access: "orgAdminOrOperator",
  params: { org },
  reply: { status: 200, description: "the limit", schema: rateLimitBody },
});

export const putOrgLimitRoute = defineRoute({
  method: "put",
  path: "/orgs/:org/rate-limit",
  summary: "Set one sliding window shared by all the org's keys, on top of each key's own (operator); pushed to every key's guard before the call returns",
  access: "operator",
  params: { org },
  body: { schema: rateLimitBody, required: true },
  reply: { status: 200, description: "the limit and how many keys were told", schema: orgLimitSet },
});

export const deleteOrgLimitRoute = defineRoute({
  method: "delete",
  path: "/orgs/:org/rate-limit",
  summary: "Remove the org's shared limit (operator)",
  access: "operator",
  params: { org },
  reply: { status: 200, description: "removed, and how many keys were told", schema: orgLimitCleared },
});

export const getOrgCreditsRoute = defineRoute({
  method: "get",
  path: "/orgs/:org/credits",
  summary: "The org's credits (org admin or operator), live from the org's guard; 404 when it has none",
  access: "orgAdminOrOperator",
  params: { org },
  reply: { status: 200, description: "the org credits", schema: orgCreditsView },
});

export const putOrgCreditsRoute = defineRoute({
  method: "put",
  path: "/orgs/:org/credits",
  summary:
    "Give the org credits (operator): every admitted request of every key of the org spends from them, exactly, 429 QUOTA_EXCEEDED at zero; org admins may then set keys' credits as caps inside them. Replaces the balance and refill",
  access: "operator",
  params: { org },
  body: { schema: orgCreditsBody, required: true },
  reply: { status: 200, description: "the org credits, and how many keys were told", schema: orgCreditsView },
});

export const deleteOrgCreditsRoute = defineRoute({
  method: "delete",
  path: "/orgs/:org/credits",
  summary: "Remove the org's credits (operator): its keys spend only their own again",
  access: "operator",
  params: { org },
  reply: { status: 200, description: "removed, and how many keys were told", schema: orgCreditsCleared },
});

export const auditRoute = defineRoute({
  method: "get",
  path: "/orgs/:org/audit",
  summary:
    "Who created, revoked or changed what, when (org admin or operator): one page, newest first, filtered by key, action, actor and time, with a cursor for older entries",
  access: "orgAdmin",
  params: { org },
  query: auditListQuery,
  reply: { status: 200, description: "events", schema: auditList },
});

export const keyUsageRoute = defineRoute({
  method: "get",
  path: "/orgs/:org/keys/:id/usage",
  summary: "One key's usage (org members or operator): minute buckets fresh from its guard; hour and day as last reported (up to about a minute behind)",
  access: "orgUser",
  params: theKey,
  query: keyUsageQuery,
  reply: { status: 200, description: "usage", schema: keyUsageView },
});

export const orgUsageRoute = defineRoute({
  method: "get",
  path: "/orgs/:org/usage",
  summary: "The org's usage (org members or operator): totals, buckets and busiest keys, from the org ledger in one read",
  access: "orgUser",
  params: { org },
  query: orgUsageQuery,
  reply: { status: 200, description: "usage", schema: orgUsageView },
});

export const anomaliesRoute = defineRoute({
  method: "get",
  path: "/orgs/:org/anomalies",
  summary: "Unusual patterns flagged on the org's keys (org members or operator); open ones by default",
  access: "orgUser",
  params: { org },
  query: anomalyListQuery,
  reply: { status: 200, description: "anomalies", schema: anomalyList },
});

export const acknowledgeRoute = defineRoute({
  method: "post",
  path: "/orgs/:org/anomalies/:id/acknowledge",
  summary: "Acknowledge an anomaly (org admin or operator; audited). A pattern seen again later opens a new one.",
  access: "orgAdmin",
  params: { org, id: anomalyId },
  body: { schema: emptyBody, required: false },
  reply: { status: 200, description: "the anomaly", schema: anomalyView },
});

export const rollKeyRoute = defineRoute({
  method: "post",
  path: "/orgs/:org/keys/:id/roll",
  summary:
    "Roll a key (org admin or operator): a new secret for the same key (id, settings, window, credits, meta and usage continue). The response holds the new secret, once; the old one works until previousValidUntil, then is refused like a revoked key",
  access: "orgAdminOrOperator",
  params: theKey,
  body: { schema: rollBody, required: false },
  reply: { status: 200, description: "the new secret and when the old one stops working", schema: rolledKey },
});
