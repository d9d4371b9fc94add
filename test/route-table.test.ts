// The route table on its own (src/http/route-table.ts): the order in which a
// request meets a definition's checks, counted, with a fresh app per test.

import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import * as z from "zod";
import { KeywardError } from "../src/errors";
import { errorResponse } from "../src/http/error-response";
import type { KeywardEnv } from "../src/http/keyward-env";
import { defineRoute } from "../src/http/route-def";
import { routeTable } from "../src/http/route-table";

const thing = defineRoute({
  method: "post",
  path: "/orgs/:org/things/:id",
  summary: "test route",
  access: "orgAdmin",
  params: { org: { pattern: /^[a-z]+$/, notFound: "No such org." }, id: { pattern: /^t_[0-9]$/, notFound: "No such thing." } },
  query: z.strictObject({ n: z.coerce.number().int().default(1) }),
  body: { schema: z.strictObject({ name: z.string().min(1, "must not be empty") }), required: true },
  reply: { status: 201, description: "made", schema: z.object({ id: z.string(), name: z.string(), n: z.number(), by: z.string() }) },
});

const gone = defineRoute({
  method: "delete",
  path: "/orgs/:org/things/:id",
  summary: "remove",
  access: "public",
  params: thing.params,
  reply: { status: 204, description: "gone" },
});

function setup() {
  const counts = { authorize: 0, handler: 0 };
  const app = new Hono<KeywardEnv>();
  app.onError((error) => (error instanceof KeywardError ? errorResponse(error, "req_test") : new Response("unexpected", { status: 500 })));
  const table = routeTable<string>(app, {
    async authorize(_access, c) {
      counts.authorize++;
      if (c.req.header("authorization") !== "Bearer ok") throw new KeywardError("MISSING_AUTH_HEADER", "Send a token.");
      return "user:ok";
    },
  });
  table.add(thing, async (_c, { params, query, body, who }) => {
    counts.handler++;
    return { id: params.id, name: body.name, n: query.n, by: who };
  });
  table.add(gone, async () => {
    counts.handler++;
    return null;
  });
  table.close();
  const send = async (path: string, init: RequestInit = {}) => {
    const res = await app.request(path, { method: "POST", ...init });
    return { status: res.status, allow: res.headers.get("allow"), body: res.status === 204 ? null : ((await res.json()) as Record<string, unknown>) };
  };
  return { app, counts, send, table };
}

const auth = { authorization: "Bearer ok" };

describe("the route table", () => {
  it("answers a malformed org 404 before asking who the caller is", async () => {
    const { send, counts } = setup();
    expect(await send("/orgs/BAD!/things/t_1", { body: "{nope" })).toMatchObject({ status: 404, body: { code: "NOT_FOUND", message: "No such org." } });
    expect(counts).toEqual({ authorize: 0, handler: 0 });
  });

  it("authorises before it reads the query or the body", async () => {
    const { send, counts } = setup();
    expect(await send("/orgs/acme/things/t_1?zz=1", { body: "{nope" })).toMatchObject({ status: 401, body: { code: "MISSING_AUTH_HEADER" } });
    expect(counts).toEqual({ authorize: 1, handler: 0 });
  });

  it("validates the query, then the body, then the other path parameters, each failure naming its field", async () => {
    const { send, counts } = setup();
    expect(await send("/orgs/acme/things/nope?n=x", { headers: auth, body: "{}" })).toMatchObject({ status: 400, body: { field: "n" } });
    expect(await send("/orgs/acme/things/nope", { headers: auth, body: '{"name":""}' })).toMatchObject({
      status: 400,
      body: { code: "INVALID_REQUEST", field: "name", message: "name: must not be empty" },
    });
    expect(await send("/orgs/acme/things/nope", { headers: auth, body: '{"name":"x"}' })).toMatchObject({ status: 404, body: { message: "No such thing." } });
    expect(counts).toEqual({ authorize: 3, handler: 0 });
  });

  it("gives the handler the parsed input and answers with the definition's status", async () => {
    const { send, counts } = setup();
    expect(await send("/orgs/acme/things/t_7?n=3", { headers: auth, body: '{"name":"x"}' })).toEqual({
      status: 201,
      allow: null,
      body: { id: "t_7", name: "x", n: 3, by: "user:ok" },
    });
    expect(await send("/orgs/acme/things/t_7", { method: "DELETE" })).toEqual({ status: 204, allow: null, body: null });
    expect(counts).toEqual({ authorize: 1, handler: 2 });
  });

  it("answers the path's other methods 405 with Allow in a fixed order, and runs nothing", async () => {
    const { send, counts } = setup();
    for (const method of ["GET", "PUT", "PATCH"]) {
      expect(await send("/orgs/acme/things/t_1", { method })).toMatchObject({ status: 405, allow: "POST, DELETE", body: { code: "METHOD_NOT_ALLOWED" } });
    }
    expect(counts).toEqual({ authorize: 0, handler: 0 });
  });

  it("refuses at start-up a route defined twice, or a protected route without authorisation", () => {
    const { table } = setup();
    expect(() => table.add(thing, async () => ({ id: "", name: "", n: 0, by: "" }))).toThrow(/defined twice/);
    expect(() => routeTable(new Hono<KeywardEnv>()).add(thing, async () => ({ id: "", name: "", n: 0, by: "" }))).toThrow(/authorize/);
  });

  it("holds definitions to their paths and handlers to their replies at compile time", () => {
    // @ts-expect-error: the path names :id, which params does not describe.
    defineRoute({ method: "get", path: "/x/:id", summary: "", access: "public", params: {}, reply: { status: 200, description: "" } });
    const { table } = setup();
    // @ts-expect-error: the reply lacks `by`, which its schema requires.
    expect(() => table.add(thing, async () => ({ id: "", name: "", n: 0 }))).toThrow(/defined twice/);
  });
});
