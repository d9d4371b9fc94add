import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import policyFile from "../keyward.policy.json";
import { compilePolicy } from "../src/authz/policy";
import { loadConfig } from "../src/config";

describe("the deployed Worker entry", () => {
  it("serves health and the public JWKS without any private key material", async () => {
    expect((await exports.default.fetch("https://keyward.test/_keyward/health")).status).toBe(200);
    const jwks = (await (await exports.default.fetch("https://keyward.test/_keyward/.well-known/jwks.json")).json()) as { keys: Record<string, string>[] };
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toMatchObject({ kty: "EC", crv: "P-256", alg: "ES256", use: "sig" });
    expect(jwks.keys[0]?.d).toBeUndefined();
  });

  it("answers the documented 401 for a request without a key", async () => {
    const res = await exports.default.fetch("https://keyward.test/v1/x");
    expect(res.status).toBe(401);
    expect(((await res.json()) as { code: string }).code).toBe("MISSING_AUTH_HEADER");
  });

  it("ships a policy file that validates", () => {
    expect(() => compilePolicy(policyFile)).not.toThrow();
  });
});

describe("configuration is validated once, with errors that name the variable", () => {
  const base = { ...env };
  it.each([
    ["ORIGIN_URL", { ORIGIN_URL: "" }, /ORIGIN_URL is required/],
    ["ORIGIN_URL", { ORIGIN_URL: "ftp://x" }, /ORIGIN_URL must be an absolute http\(s\) URL/],
    ["KEYWARD_ENV", { KEYWARD_ENV: "staging" }, /KEYWARD_ENV must be/],
    ["DEFAULT_RATE_LIMIT", { DEFAULT_RATE_LIMIT: "lots" }, /DEFAULT_RATE_LIMIT must be a whole number/],
    ["API_KEY_HEADER", { API_KEY_HEADER: "Authorization" }, /API_KEY_HEADER must be a header name/],
    ["KEY_TYPE_PREFIX", { KEY_TYPE_PREFIX: "SK!" }, /KEY_TYPE_PREFIX/],
    ["KEYWARD_SIGNING_KEY", { KEYWARD_SIGNING_KEY: "{}" }, /KEYWARD_SIGNING_KEY must be the JSON/],
    ["KEYWARD_OPERATOR_TOKEN (not hex)", { KEYWARD_OPERATOR_TOKEN: "p".repeat(40) }, /KEYWARD_OPERATOR_TOKEN must be at least 32 hex characters/],
    ["KEYWARD_OPERATOR_TOKEN (too short)", { KEYWARD_OPERATOR_TOKEN: "ab".repeat(15) }, /KEYWARD_OPERATOR_TOKEN must be at least 32 hex characters/],
    ["USER_JWT_ALGORITHMS", { USER_JWT_ALGORITHMS: "none" }, /USER_JWT_ALGORITHMS has "none"/],
    ["USER_JWT_ALGORITHMS", { USER_JWKS_URL: "https://idp.test/jwks", USER_JWT_ALGORITHMS: "RS256,HS256" }, /must not include HS256/],
    [
      "KEYWARD_DEV_REPORT_DELAY_MS",
      { KEYWARD_DEV_REPORT_DELAY_MS: "60000" },
      /KEYWARD_DEV_REPORT_DELAY_MS must be a whole number of milliseconds from 0 to 5000/,
    ],
    ["KEYWARD_DEV_REPORT_DELAY_MS", { KEYWARD_DEV_REPORT_DELAY_MS: "0.5" }, /KEYWARD_DEV_REPORT_DELAY_MS must be a whole number/],
    [
      "KEYWARD_DEV_QUIET_REPORT_PERIOD_MS",
      { KEYWARD_DEV_QUIET_REPORT_PERIOD_MS: "600000" },
      /KEYWARD_DEV_QUIET_REPORT_PERIOD_MS must be a whole number of milliseconds from 0 to 270000/,
    ],
    ["KEYWARD_WEBSOCKET_MAX_SECONDS (zero)", { KEYWARD_WEBSOCKET_MAX_SECONDS: "0" }, /KEYWARD_WEBSOCKET_MAX_SECONDS must be a whole number from 1 to 86400/],
    ["KEYWARD_WEBSOCKET_MAX_SECONDS (not a number)", { KEYWARD_WEBSOCKET_MAX_SECONDS: "1h" }, /KEYWARD_WEBSOCKET_MAX_SECONDS must be a whole number/],
  ])("refuses a bad %s", (_name, override, message) => {
    expect(() => loadConfig({ ...base, ...override })).toThrow(message);
  });

  it("refuses development secrets when the environment says production", () => {
    expect(() => loadConfig({ ...base, KEYWARD_ENV: "production" })).toThrow(/KEYWARD_DEV_JWT_SECRET is for local development only/);
    expect(() => loadConfig({ ...base, KEYWARD_ENV: "production", KEYWARD_DEV_JWT_SECRET: "" })).toThrow(/KEYWARD_OPERATOR_TOKEN is a development token/);
    expect(() => loadConfig({ ...base, KEYWARD_ENV: "production", KEYWARD_DEV_JWT_SECRET: "", KEYWARD_OPERATOR_TOKEN: "ab".repeat(20) })).toThrow(
      /KEYWARD_SIGNING_KEY is a development key/,
    );
  });

  it("refuses a development report delay in production", () => {
    const production = { ...base, KEYWARD_ENV: "production", KEYWARD_DEV_JWT_SECRET: "", KEYWARD_OPERATOR_TOKEN: "ab".repeat(20) };
    expect(() => loadConfig({ ...production, KEYWARD_DEV_REPORT_DELAY_MS: "0" })).toThrow(/KEYWARD_DEV_REPORT_DELAY_MS is for local development only/);
    expect(() => loadConfig({ ...production, KEYWARD_DEV_QUIET_REPORT_PERIOD_MS: "60000" })).toThrow(
      /KEYWARD_DEV_QUIET_REPORT_PERIOD_MS is for local development only/,
    );
  });

  it("defaults to production when KEYWARD_ENV is unset", () => {
    expect(() => loadConfig({ ...base, KEYWARD_ENV: undefined })).toThrow(/for local development only/);
  });

  it("points a bad route policy at the rule and field at fault", () => {
    expect(() =>
      compilePolicy({
        rules: [
          { method: "GET", path: "/a", permission: "x" },
          { method: "GET", path: "no-slash", permission: "x" },
        ],
      }),
    ).toThrow(/rules\[1\]\.path: must start with \//);
    expect(() => compilePolicy({ rules: [{ method: "FETCH", path: "/a", permission: "x" }] })).toThrow(/rules\[0\]\.method/);
    expect(() => compilePolicy({ rules: [{ method: "GET", path: "/a/:id", permission: "x", resource: "other" }] })).toThrow(/rules\[0\]\.resource/);
  });
});
