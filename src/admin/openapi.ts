import * as z from "zod";
import type { RouteConfig } from "../http/route-def";
import { errorBody } from "./schemas";

/**
 * The OpenAPI 3.1 document of /_keyward/v1, generated from the route definitions
 * that are mounted (http/route-def.ts): the same Zod schemas validate the
 * requests, so the document and the server cannot drift apart.
 */

const jsonSchema = (s: z.ZodType, io: "input" | "output") => {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(s, { io, unrepresentable: "any" }) as Record<string, unknown>;
  return rest;
};

const json = (s: z.ZodType, io: "input" | "output" = "output") => ({ content: { "application/json": { schema: jsonSchema(s, io) } } });

/** Query parameters from the schema that validates them. */
const queryParams = (s: z.ZodType) => {
  const { properties = {}, required = [] } = jsonSchema(s, "input") as { properties?: Record<string, unknown>; required?: string[] };
  return Object.entries(properties).map(([name, p]) => ({ name, in: "query", required: required.includes(name), schema: p }));
};

/**
 * The refusals a route can answer, read off its definition: 400 always (a
 * route refuses a query parameter it does not take), 401 when it needs a token,
 * 403 when it needs a role, 404 when its path names something, 503 when a token
 * is checked (the key set, the ledger), plus any the definition lists.
 */
export function errorStatuses(def: RouteConfig): number[] {
  const statuses = new Set(def.errors ?? []);
  statuses.add(400);
  if (def.access !== "public") statuses.add(401).add(503);
  if (def.access !== "public" && def.access !== "token") statuses.add(403);
  if (Object.keys(def.params ?? {}).length > 0) statuses.add(404);
  return [...statuses].sort((a, b) => a - b);
}

/** "/orgs/:org/keys/:id" as OpenAPI writes it, "/orgs/{org}/keys/{id}". */
export const openApiPath = (path: string) => path.replace(/:([A-Za-z0-9_]+)/g, "{$1}");

function operation(def: RouteConfig): Record<string, unknown> {
  const parameters = [
    ...Object.entries(def.params ?? {}).map(([name, p]) => ({ name, in: "path", required: true, schema: { type: "string", pattern: p.pattern.source } })),
    ...(def.query === undefined ? [] : queryParams(def.query)),
  ];
  const error = { description: "refused: see code (docs/contract.md)", ...json(errorBody) };
  return {
    summary: def.summary,
    "x-keyward-access": def.access,
    ...(def.access === "public" ? { security: [] } : {}),
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(def.body === undefined ? {} : { requestBody: { required: def.body.required, ...json(def.body.schema, "input") } }),
    responses: {
      [String(def.reply.status)]: { description: def.reply.description, ...(def.reply.schema === undefined ? {} : json(def.reply.schema)) },
      ...Object.fromEntries(errorStatuses(def).map((status) => [String(status), error])),
    },
  };
}

/** The document for these routes, served as /_keyward/v1/openapi.json. */
export function openApiDocument(defs: readonly RouteConfig[]): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const def of defs) {
    const path = openApiPath(def.path);
    paths[path] = { ...paths[path], [def.method]: operation(def) };
  }
  return {
    openapi: "3.1.0",
    info: { title: "Keyward admin API", version: "1" },
    servers: [{ url: "/_keyward/v1" }],
    components: { securitySchemes: { bearer: { type: "http", scheme: "bearer", description: "an org admin's user JWT, or the operator token" } } },
    security: [{ bearer: [] }],
    paths,
  };
}
