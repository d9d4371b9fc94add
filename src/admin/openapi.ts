import * as z from "zod";
import { KEY_ID_PATTERN } from "../keys/key-format";
import { meView } from "./me-schema";
import {
  anomalyList,
  anomalyListQuery,
  anomalyView,
  auditList,
  createdKey,
  createKeyBody,
  creditsBody,
  deliveryList,
  emptyBody,
  errorBody,
  keyList,
  keyListQuery,
  keyUsageQuery,
  keyUsageView,
  keyView,
  orgUsageQuery,
  orgUsageView,
  patchKeyBody,
  rateLimitBody,
  revokeAllBody,
  revokeAllResult,
  revokeBody,
  webhookBody,
  webhookCreated,
  webhookView,
} from "./schemas";

const schema = (s: z.ZodType, io: "input" | "output" = "output") => {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(s, { io, unrepresentable: "any" }) as Record<string, unknown>;
  return rest;
};

const json = (s: z.ZodType, io: "input" | "output" = "output") => ({ content: { "application/json": { schema: schema(s, io) } } });

const errors = (...statuses: number[]) =>
  Object.fromEntries(statuses.map((status) => [String(status), { description: "error (see code)", ...json(errorBody) }]));

/** Query parameters from the schema that validates them. */
const queryParams = (s: z.ZodType) => {
  const { properties = {}, required = [] } = schema(s, "input") as { properties?: Record<string, unknown>; required?: string[] };
  return Object.entries(properties).map(([name, p]) => ({ name, in: "query", required: required.includes(name), schema: p }));
};

const orgParam = { name: "org", in: "path", required: true, schema: { type: "string" } };
const idParam = { name: "id", in: "path", required: true, schema: { type: "string", pattern: KEY_ID_PATTERN.source } };

let cached: Record<string, unknown> | null = null;

/** OpenAPI 3.1 description of the admin API, generated from the schemas that validate it. */
export function openApiDocument(): Record<string, unknown> {
  cached ??= {
    openapi: "3.1.0",
    info: { title: "Keyward admin API", version: "1" },
    servers: [{ url: "/_keyward/v1" }],
    components: { securitySchemes: { bearer: { type: "http", scheme: "bearer", description: "an org admin's user JWT, or the operator token" } } },
    security: [{ bearer: [] }],
    paths: {
      "/orgs/{org}/keys": {
        parameters: [orgParam],
        post: {
          summary: "Create a key (org admin). The response holds the key, once.",
          requestBody: { required: true, ...json(createKeyBody, "input") },
          responses: { "201": { description: "created", ...json(createdKey) }, ...errors(400, 401, 403, 404, 503) },
        },
        get: {
          summary: "One page of the org's keys (org admin), with last use as reported by the guards",
          parameters: queryParams(keyListQuery),
          responses: { "200": { description: "keys", ...json(keyList) }, ...errors(400, 401, 403, 404, 503) },
        },
      },
      "/orgs/{org}/keys/{id}": {
        parameters: [orgParam, idParam],
        get: { summary: "One key (org admin)", responses: { "200": { description: "the key", ...json(keyView) }, ...errors(401, 403, 404, 503) } },
        patch: {
          summary: "Replace a key's metadata (org admin); the origin sees it from the next request; never put secrets in it",
          requestBody: { required: true, ...json(patchKeyBody, "input") },
          responses: { "200": { description: "the key", ...json(keyView) }, ...errors(400, 401, 403, 404, 503) },
        },
      },
      "/orgs/{org}/webhook": {
        parameters: [orgParam],
        put: {
          summary: "Set the org's event webhook (org admin); answers the whsec_ signing secret, once",
          requestBody: { required: true, ...json(webhookBody, "input") },
          responses: { "200": { description: "the webhook and its secret", ...json(webhookCreated) }, ...errors(400, 401, 403, 404, 503) },
        },
        get: {
          summary: "The org's webhook, without its secret (org admin)",
          responses: { "200": { description: "the webhook", ...json(webhookView) }, ...errors(401, 403, 404, 503) },
        },
        delete: { summary: "Remove the org's webhook (org admin)", responses: { "204": { description: "removed" }, ...errors(401, 403, 404, 503) } },
      },
      "/orgs/{org}/webhook/deliveries": {
        parameters: [orgParam],
        get: {
          summary: "Recent deliveries with status and attempts (org admin)",
          responses: { "200": { description: "deliveries", ...json(deliveryList) }, ...errors(401, 403, 404, 503) },
        },
      },
      "/orgs/{org}/webhook/deliveries/{id}/redeliver": {
        parameters: [orgParam, { name: "id", in: "path", required: true, schema: { type: "string", pattern: "^msg_[0-9a-f]{20}$" } }],
        post: {
          summary: "Send a delivery again, same webhook-id, fresh 24 h of retries (org admin)",
          responses: { "202": { description: "queued" }, ...errors(401, 403, 404, 503) },
        },
      },
      "/orgs/{org}/keys/revoke-all": {
        parameters: [orgParam],
        post: {
          summary:
            "Org kill switch (org admin or operator): revoke every matching key now, guards first. confirm must repeat the org id. A failure part-way is 503 with detail; repeating completes it",
          requestBody: { required: true, ...json(revokeAllBody, "input") },
          responses: { "200": { description: "counts", ...json(revokeAllResult) }, ...errors(400, 401, 403, 404, 503) },
        },
      },
      "/orgs/{org}/keys/{id}/revoke": {
        parameters: [orgParam, idParam],
        post: {
          summary: "Revoke a key (org admin); idempotent; in force before the response returns",
          requestBody: { required: false, ...json(revokeBody, "input") },
          responses: { "200": { description: "the key", ...json(keyView) }, ...errors(400, 401, 403, 404, 503) },
        },
      },
      "/orgs/{org}/keys/{id}/rate-limit": {
        parameters: [orgParam, idParam],
        put: {
          summary: "Change a key's rate limit (operator); in force on the next request, window kept",
          requestBody: { required: true, ...json(rateLimitBody, "input") },
          responses: { "200": { description: "the key", ...json(keyView) }, ...errors(400, 401, 403, 404, 503) },
        },
      },
      "/orgs/{org}/keys/{id}/disable": {
        parameters: [orgParam, idParam],
        post: {
          summary: "Suspend a key (org admin or operator): 403 KEY_DISABLED from the next request; idempotent; nothing is consumed while disabled",
          requestBody: { required: false, ...json(emptyBody, "input") },
          responses: { "200": { description: "the key", ...json(keyView) }, ...errors(400, 401, 403, 404, 503) },
        },
      },
      "/orgs/{org}/keys/{id}/enable": {
        parameters: [orgParam, idParam],
        post: {
          summary: "Resume a suspended key (org admin or operator), with its window as it was; idempotent",
          requestBody: { required: false, ...json(emptyBody, "input") },
          responses: { "200": { description: "the key", ...json(keyView) }, ...errors(400, 401, 403, 404, 503) },
        },
      },
      "/orgs/{org}/keys/{id}/credits": {
        parameters: [orgParam, idParam],
        post: {
          summary:
            "Set, increment or decrement a key's credits (org admin or operator); set without a value makes it unlimited; applied in order with the key's traffic, in force on the next request",
          requestBody: { required: true, ...json(creditsBody, "input") },
          responses: { "200": { description: "the key with its new balance", ...json(keyView) }, ...errors(400, 401, 403, 404, 503) },
        },
      },
      "/orgs/{org}/rate-limit": {
        parameters: [orgParam],
        get: {
          summary: "The org's shared rate limit (org admin or operator); 404 when it has none",
          responses: { "200": { description: "the limit", ...json(rateLimitBody) }, ...errors(401, 403, 404, 503) },
        },
        put: {
          summary:
            "Set one sliding window shared by all the org's keys, on top of each key's own (operator); pushed to every key's guard before the call returns",
          requestBody: { required: true, ...json(rateLimitBody, "input") },
          responses: { "200": { description: "the limit and how many keys were told" }, ...errors(400, 401, 403, 404, 503) },
        },
        delete: {
          summary: "Remove the org's shared limit (operator)",
          responses: { "200": { description: "removed" }, ...errors(401, 403, 404, 503) },
        },
      },
      "/orgs/{org}/me": {
        parameters: [orgParam],
        get: {
          summary: "Who this token is and what it may do in this organisation (any valid token; checked once at sign-in by the console)",
          responses: { "200": { description: "the caller", ...json(meView) }, ...errors(401, 404, 503) },
        },
      },
      "/orgs/{org}/audit": {
        parameters: [orgParam],
        get: {
          summary: "Who created, revoked or changed what, when (org admin)",
          responses: { "200": { description: "events", ...json(auditList) }, ...errors(401, 403, 404, 503) },
        },
      },
      "/orgs/{org}/keys/{id}/usage": {
        parameters: [orgParam, idParam],
        get: {
          summary: "One key's usage (org admin): minute buckets fresh from its guard; hour and day as last reported (up to about a minute behind)",
          parameters: queryParams(keyUsageQuery),
          responses: { "200": { description: "usage", ...json(keyUsageView) }, ...errors(400, 401, 403, 404, 503) },
        },
      },
      "/orgs/{org}/usage": {
        parameters: [orgParam],
        get: {
          summary: "The org's usage (org admin): totals, buckets and busiest keys, from the org ledger in one read",
          parameters: queryParams(orgUsageQuery),
          responses: { "200": { description: "usage", ...json(orgUsageView) }, ...errors(400, 401, 403, 404, 503) },
        },
      },
      "/orgs/{org}/anomalies": {
        parameters: [orgParam],
        get: {
          summary: "Unusual patterns flagged on the org's keys (org admin); open ones by default",
          parameters: queryParams(anomalyListQuery),
          responses: { "200": { description: "anomalies", ...json(anomalyList) }, ...errors(400, 401, 403, 404, 503) },
        },
      },
      "/orgs/{org}/anomalies/{id}/acknowledge": {
        parameters: [orgParam, { name: "id", in: "path", required: true, schema: { type: "string", pattern: "^anm_[0-9a-f]{20}$" } }],
        post: {
          summary: "Acknowledge an anomaly (org admin; audited). A pattern seen again later opens a new one.",
          responses: { "200": { description: "the anomaly", ...json(anomalyView) }, ...errors(400, 401, 403, 404, 503) },
        },
      },
    },
  };
  return cached;
}
