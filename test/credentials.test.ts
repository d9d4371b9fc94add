import { describe, expect, it } from "vitest";
import { readCredentials } from "../src/credentials";
import { KeywardError } from "../src/errors";
import { generateKey } from "../src/keys/key-format";

const key = generateKey("sk", "live").key;
const other = generateKey("sk", "live").key;
const jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1In0.c2ln";
const options = { apiKeyHeader: "x-api-key" };

/** Calls the parser on a plain map, so that strings no Headers object accepts can be tried too. */
function read(headers: Record<string, string>) {
  const map = new Map(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return readCredentials({ get: (name: string) => map.get(name) ?? null } as Headers, options);
}

function code(headers: Record<string, string>): string {
  try {
    read(headers);
    return "accepted";
  } catch (error) {
    if (error instanceof KeywardError) return error.code;
    throw error;
  }
}

describe("reading credentials", () => {
  it("refuses a request with no credential header", () => {
    expect(code({})).toBe("MISSING_AUTH_HEADER");
  });

  it.each([
    ["an empty Bearer token", { authorization: "Bearer " }],
    ["a blank Bearer token", { authorization: "Bearer    " }],
    ["the bare scheme", { authorization: "Bearer" }],
    ["Basic", { authorization: "Basic dXNlcjpwYXNz" }],
    ["a bare token", { authorization: key }],
    ["an empty API key header", { "x-api-key": "" }],
  ])("answers %s with MISSING_AUTH_HEADER", (_name, headers) => {
    expect(code(headers)).toBe("MISSING_AUTH_HEADER");
  });

  it.each([
    ["lower-case bearer", `bearer ${key}`],
    ["upper-case BEARER", `BEARER ${key}`],
    ["extra spaces around the token", `Bearer    ${key}   `],
    ["a tab after the scheme", `Bearer\t${key}`],
  ])("accepts %s", (_name, authorization) => {
    expect(read({ authorization }).apiKey).toBe(key);
  });

  it.each([
    ["a tab inside", `${key.slice(0, 10)}\t${key.slice(10)}`],
    ["a newline", `${key}\nX-Evil: 1`],
    ["a NUL", `${key}\u0000`],
    ["non-ASCII", `${key.slice(0, -1)}é`],
    ["fullwidth digits", key.replace(/[0-9]/g, (d) => String.fromCharCode(0xff10 + Number(d)))],
  ])("answers a token with %s with INVALID_API_KEY, never a crash", (_name, token) => {
    expect(code({ authorization: `Bearer ${token}` })).toBe("INVALID_API_KEY");
    expect(code({ "x-api-key": token })).toBe("INVALID_API_KEY");
  });

  it("refuses a credential header over 4 KiB before parsing it", () => {
    expect(code({ authorization: `Bearer ${"a".repeat(4097)}` })).toBe("INVALID_API_KEY");
    expect(code({ "x-api-key": "a".repeat(5000) })).toBe("INVALID_API_KEY");
  });

  it("accepts the same key in both headers and consumes both", () => {
    expect(read({ authorization: `Bearer ${key}`, "x-api-key": key })).toEqual({
      apiKey: key,
      userToken: null,
      consumed: ["authorization", "x-api-key"],
    });
  });

  it.each([
    ["two Authorization values", { authorization: `Bearer ${key}, Bearer ${other}` }],
    ["Authorization vs X-API-Key", { authorization: `Bearer ${key}`, "x-api-key": other }],
    ["two X-API-Key values", { "x-api-key": `${key}, ${other}` }],
  ])("answers %s with INVALID_REQUEST", (_name, headers) => {
    expect(code(headers)).toBe("INVALID_REQUEST");
  });

  it("takes a JWT in Authorization as the user token when an API key header is present", () => {
    expect(read({ authorization: `Bearer ${jwt}`, "x-api-key": key })).toMatchObject({ apiKey: key, userToken: jwt });
  });

  it("refuses a user token without an API key", () => {
    expect(code({ authorization: `Bearer ${jwt}` })).toBe("MISSING_AUTH_HEADER");
  });

  it("reads a configured API key header name", () => {
    const headers = new Headers({ "X-Service-Key": key });
    expect(readCredentials(headers, { apiKeyHeader: "x-service-key" }).apiKey).toBe(key);
  });
});
