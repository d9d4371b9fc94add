// Each admin route is defined once (src/admin/admin-routes.ts): these tests walk
// the definitions and fail if one is served but not documented, documented but
// not served, missing from the 405 answers, or lets bad input through.

import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { type AdminApiOptions, adminApi } from "../src/admin/admin-api";
import * as adminRoutes from "../src/admin/admin-routes";
import { openApiPath } from "../src/admin/openapi";
import { ERROR_CODES } from "../src/errors";
import { METHOD_ORDER, type RouteConfig } from "../src/http/route-def";
import { LEAK_ROUTES, type LeakRoutesOptions, leakRoutes } from "../src/leaks/leak-routes";
import { harness } from "./support/harness";
import { devToken } from "./support/tokens";

const adminDefs: RouteConfig[] = Object.values(adminRoutes);
/** Everything under /_keyward/v1: the admin API and the leak reports mounted beside it. */
const defs: RouteConfig[] = [...adminDefs, ...LEAK_ROUTES];
const ORG = () => `org_${crypto.randomUUID().slice(0, 8)}`;

type OpenApi = { paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: unknown }> }> }>> };

/** A concrete path for a definition: each parameter replaced by a well-formed value. */
function concrete(def: RouteConfig, org: string): string {
  return def.path.replace(/:([a-z]+)/g, (_, name: string) => {
    if (name === "org") return org;
    const pattern = def.params?.[name]?.pattern.source ?? "";
    const prefix = /\^([a-z]+)_/.exec(pattern)?.[1] ?? "x";
    return `${prefix}_${"0".repeat(20)}`;
  });
}

/** A body each route with a JSON body accepts (checked against its schema below), by "METHOD /path". */
const VALID_BODIES: Record<string, unknown> = {
  "POST /orgs/:org/keys": { label: "ci" },
  "PATCH /orgs/:org/keys/:id": { meta: null },
  "POST /orgs/:org/keys/revoke-all": { confirm: "org_x" },
  "POST /orgs/:org/keys/:id/revoke": {},
  "POST /orgs/:org/keys/:id/roll": { graceSeconds: 60 },
  "PUT /orgs/:org/keys/:id/rate-limit": { limit: 10, windowSeconds: 60 },
  "POST /orgs/:org/keys/:id/disable": {},
  "POST /orgs/:org/keys/:id/enable": {},
  "POST /orgs/:org/keys/:id/credits": { operation: "set" },
  "PUT /orgs/:org/webhook": { url: "https://hooks.example.com/keyward", events: ["key.created"] },
  "PUT /orgs/:org/rate-limit": { limit: 10, windowSeconds: 60 },
  "PUT /orgs/:org/credits": { remaining: 100 },
  "POST /orgs/:org/anomalies/:id/acknowledge": {},
  "POST /orgs/:org/portal-sessions": { role: "org:member", subject: "someone@example.com" },
  "POST /leaks": { key: "sk_live_unknown" },
};

/** Whether a definition's path matches a concrete path (as the router would). */
const matches = (def: RouteConfig, path: string) => new RegExp(`^${def.path.replace(/:[a-z]+/g, "[^/]+")}$`).test(path);

async function headersFor(def: RouteConfig, org: string): Promise<Record<string, string>> {
  const token = def.access === "operator" ? env.KEYWARD_OPERATOR_TOKEN : await devToken({ org, role: "org:admin" });
  return { authorization: `Bearer ${token}`, "content-type": "application/json" };
}

describe("admin routes, each defined once", () => {
  it("serves exactly the defined routes, and documents each with its method in openapi.json", async () => {
    // Built without services: mounting reads none, and the document needs none.
    const app = adminApi({} as AdminApiOptions);
    // A route mounted with middleware before it is listed once per handler.
    const served = (a: typeof app) => [...new Set(a.routes.filter((r) => r.method !== "ALL").map((r) => `${r.method} ${r.path}`))];
    const named = (list: RouteConfig[]) => list.map((d) => `${d.method.toUpperCase()} ${d.path}`).sort();
    expect(served(app).sort()).toEqual(named(adminDefs));
    expect(served(leakRoutes({} as LeakRoutesOptions)).sort()).toEqual(named([...LEAK_ROUTES]));
    const doc = (await (await app.request("/openapi.json")).json()) as OpenApi;
    const documented = Object.entries(doc.paths).flatMap(([path, item]) => Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`));
    expect(documented.sort()).toEqual(defs.map((d) => `${d.method.toUpperCase()} ${openApiPath(d.path)}`).sort());
    for (const def of defs) {
      const op = doc.paths[openApiPath(def.path)]?.[def.method];
      expect(Object.keys(op?.responses ?? {}), `${def.method} ${def.path}`).toContain(String(def.reply.status));
    }
  });

  it("documents the error code as the closed set of src/errors.ts, on every refusal", async () => {
    const h = harness();
    const doc = (await (await h.send("/_keyward/v1/openapi.json")).json()) as OpenApi;
    let refusals = 0;
    for (const item of Object.values(doc.paths)) {
      for (const op of Object.values(item)) {
        for (const [status, response] of Object.entries(op.responses)) {
          if (Number(status) < 400) continue;
          refusals++;
          const schema = response.content?.["application/json"]?.schema as { properties: { code: { enum: string[] } }; required: string[] };
          expect(schema.properties.code.enum).toEqual([...ERROR_CODES]);
          expect(schema.required).toEqual(expect.arrayContaining(["code", "message", "requestId"]));
        }
      }
    }
    expect(refusals).toBeGreaterThan(defs.length * 2);
  });

  it("answers every other method on every defined path with 405 and the exact Allow, changing nothing", async () => {
    const h = harness();
    const org = ORG();
    const headers = await headersFor(adminRoutes.listKeysRoute, org);
    let answered = 0;
    for (const path of new Set(defs.map((d) => d.path))) {
      const defined = defs.filter((d) => d.path === path);
      const url = concrete(defined[0] as RouteConfig, org);
      const allow = METHOD_ORDER.filter((m) => defined.some((d) => d.method === m))
        .map((m) => m.toUpperCase())
        .join(", ");
      for (const method of METHOD_ORDER) {
        // Served by another route whose parameter matches this path (GET /keys/revoke-all is GET /keys/:id).
        if (defs.some((d) => d.method === method && matches(d, url))) continue;
        const res = await h.send(`/_keyward/v1${url}`, { method: method.toUpperCase(), headers, body: method === "get" ? null : "{}" });
        expect(res.status, `${method} ${url}`).toBe(405);
        expect(res.headers.get("allow"), `${method} ${url}`).toBe(allow);
        expect(((await res.json()) as { code: string }).code).toBe("METHOD_NOT_ALLOWED");
        answered++;
      }
    }
    expect(answered).toBeGreaterThan(40);
    const audit = await h.send(`/_keyward/v1/orgs/${org}/audit`, { headers });
    expect(((await audit.json()) as { events: unknown[] }).events).toEqual([]);
    const keys = await h.send(`/_keyward/v1/orgs/${org}/keys`, { headers });
    expect(((await keys.json()) as { keys: unknown[] }).keys).toEqual([]);
  });

  it("answers an unknown body field on every route that takes a body with 400 naming it, changing nothing", async () => {
    const h = harness();
    const org = ORG();
    // A signed body (GitHub's) is verified before it is parsed: test/leaks.test.ts covers it.
    const withBody = defs.filter((d) => d.body !== undefined && !d.body.raw);
    expect(withBody.length).toBeGreaterThan(10);
    for (const def of withBody) {
      const route = `${def.method.toUpperCase()} ${def.path}`;
      // A valid body plus one unknown field: the unknown field is the only thing wrong.
      const sample = VALID_BODIES[route];
      expect(sample, `${route}: add a valid body to VALID_BODIES`).toBeDefined();
      expect(def.body?.schema.safeParse(sample).success, `${route}: its VALID_BODIES entry must pass its schema`).toBe(true);
      const url = concrete(def, org);
      const res = await h.send(`/_keyward/v1${url}`, {
        method: def.method.toUpperCase(),
        headers: await headersFor(def, org),
        body: JSON.stringify({ ...(sample as object), zzUnknown: 1 }),
      });
      expect(res.status, route).toBe(400);
      expect(await res.json(), route).toMatchObject({ code: "INVALID_REQUEST", field: "zzUnknown", message: "zzUnknown: is not a known field; remove it" });
      const bad = await h.send(`/_keyward/v1${url}`, { method: def.method.toUpperCase(), headers: await headersFor(def, org), body: "{nope" });
      expect(await bad.json()).toMatchObject({ code: "INVALID_REQUEST", field: "body", message: "body: must be valid JSON" });
    }
    const headers = await headersFor(adminRoutes.listKeysRoute, org);
    expect(((await (await h.send(`/_keyward/v1/orgs/${org}/keys`, { headers })).json()) as { keys: unknown[] }).keys).toEqual([]);
    expect(((await (await h.send(`/_keyward/v1/orgs/${org}/audit`, { headers })).json()) as { events: unknown[] }).events).toEqual([]);
  });

  it("answers an unknown query parameter on every route, one that takes no query too, with 400 naming it, changing nothing (threats.md 74)", async () => {
    const h = harness();
    const org = ORG();
    // Parameters a script would expect to narrow a route that ignored them (the audit log, before it took them).
    let answered = 0;
    for (const def of defs) {
      const url = `/_keyward/v1${concrete(def, org)}`;
      for (const name of ["zzUnknown", "keyId", "since"]) {
        if (def.query !== undefined && name in (def.query as unknown as { shape: Record<string, unknown> }).shape) continue;
        const res = await h.send(`${url}?${name}=1`, {
          method: def.method.toUpperCase(),
          headers: await headersFor(def, org),
          body: def.method === "get" || def.method === "delete" ? null : "{}",
        });
        expect(res.status, `${def.method} ${def.path}?${name}`).toBe(400);
        expect(await res.json(), `${def.method} ${def.path}?${name}`).toMatchObject({
          code: "INVALID_REQUEST",
          field: name,
          message: `${name}: is not a known field; remove it`,
        });
        answered++;
      }
    }
    expect(answered).toBeGreaterThanOrEqual(defs.length * 2);
    const headers = await headersFor(adminRoutes.listKeysRoute, org);
    expect(((await (await h.send(`/_keyward/v1/orgs/${org}/keys`, { headers })).json()) as { keys: unknown[] }).keys).toEqual([]);
    expect(((await (await h.send(`/_keyward/v1/orgs/${org}/audit`, { headers })).json()) as { events: unknown[] }).events).toEqual([]);
  });

  it("answers an unknown, repeated or malformed query parameter on every route that takes a query with 400 naming it", async () => {
    const h = harness();
    const org = ORG();
    const withQuery = defs.filter((d) => d.query !== undefined);
    expect(withQuery.length).toBeGreaterThanOrEqual(4);
    for (const def of withQuery) {
      const url = `/_keyward/v1${concrete(def, org)}`;
      const headers = await headersFor(def, org);
      expect(await (await h.send(`${url}?zzUnknown=1`, { headers })).json()).toMatchObject({
        code: "INVALID_REQUEST",
        field: "zzUnknown",
        message: "zzUnknown: is not a known field; remove it",
      });
      const name = Object.keys((def.query as unknown as { shape: Record<string, unknown> }).shape)[0] as string;
      expect(await (await h.send(`${url}?${name}=x&${name}=y`, { headers })).json()).toMatchObject({ field: name, message: `${name}: must be given once` });
      const res = await h.send(`${url}?${name}=${"%00".repeat(3)}`, { headers });
      expect(res.status, `${def.path}?${name}`).toBe(400);
      expect(await res.json()).toMatchObject({ code: "INVALID_REQUEST", field: name });
    }
  });
});
