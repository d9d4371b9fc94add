import { describe, expect, it } from "vitest";
import * as definitions from "../src/admin/admin-routes";
import { parseErrorAnswer, RouteError, routePath } from "../src/admin/route-client.js";
import * as refs from "../src/admin/route-refs.js";

// The clients (CLI, console) call routes by the data in route-refs.js, generated from the definitions.

describe("route refs", () => {
  it("hold every admin route's method and path as its definition has them, and nothing else (else run `npm run routes`)", () => {
    const fromDefinitions = Object.fromEntries(
      Object.entries(definitions)
        .filter(([, value]) => typeof value === "object" && value !== null && "method" in value && "path" in value)
        .map(([name, def]) => [name, { method: (def as { method: string }).method, path: (def as { path: string }).path }]),
    );
    expect(Object.keys(fromDefinitions).length).toBeGreaterThan(20);
    expect({ ...refs }).toEqual(fromDefinitions);
  });

  it("fill a path's parameters percent-encoded, leave unset query values out, and refuse a missing parameter", () => {
    expect(routePath(refs.getKeyRoute, { org: "a b", id: "k/1" })).toBe("/orgs/a%20b/keys/k%2F1");
    expect(routePath(refs.listKeysRoute, { org: "o" }, { limit: 5, q: undefined, cursor: null, status: "active" })).toBe("/orgs/o/keys?limit=5&status=active");
    expect(() => routePath(refs.getKeyRoute, { org: "o" })).toThrow(/no value for :id/);
  });
});

describe("the clients' one error parser", () => {
  it.each([
    [
      "an error body",
      404,
      JSON.stringify({ code: "NOT_FOUND", message: "No such key.", requestId: "req_1", field: "id" }),
      ["NOT_FOUND", "No such key.", "req_1", "id", true],
    ],
    [
      "an error body without request id or field",
      400,
      JSON.stringify({ code: "INVALID_REQUEST", message: "Bad." }),
      ["INVALID_REQUEST", "Bad.", null, null, true],
    ],
    ["a proxy's HTML page", 502, "<html>bad gateway</html>", ["HTTP_ERROR", "Keyward answered HTTP 502: <html>bad gateway</html>", null, null, false]],
    ["nothing", 503, "", ["HTTP_ERROR", "Keyward answered HTTP 503 without an error body", null, null, false]],
    ["JSON that is not an error body", 500, JSON.stringify({ code: 5 }), ["HTTP_ERROR", 'Keyward answered HTTP 500: {"code":5}', null, null, false]],
  ])("reads %s", (_name, status, text, [code, message, requestId, field, fromBody]) => {
    const error = parseErrorAnswer(status, text);
    expect(error).toBeInstanceOf(RouteError);
    expect([error.code, error.message, error.requestId, error.field, error.fromBody, error.status]).toEqual([
      code,
      message,
      requestId,
      field,
      fromBody,
      status,
    ]);
  });
});
