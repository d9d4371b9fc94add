// @ts-check
// The `keyward` CLI, run in process (cli/main.js, as bin/keyward.js calls it) against a
// fake admin API on 127.0.0.1; the last tests spawn bin/keyward.js as a real process.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeProtectedHeader, jwtVerify } from "jose";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { fakeAdminApi, runKeyward, spawnKeyward } from "./support/cli-harness.mjs";

const SECRET = "test-dev-secret-0123456789abcdef0123456789abcdef";
const OPERATOR = "dev_op_operator_token_for_tests_0123456789abcdef";
const USER_TOKEN = "user.token.for-tests-9f8e7d";
const KEY = "sk_test_9QxSecretKeyMaterialZ7cL2";

/**
 * Runs the CLI in process; resolves with exit code and output (never rejects).
 * @param {string[]} args
 * @param {{ cwd?: string, env?: Record<string, string> }} [options]
 */
const run = (args, { cwd, env = {} } = {}) => runKeyward(args, { cwd: cwd ?? emptyDir, env });

const count = (haystack, needle) => haystack.split(needle).length - 1;

// --- fake Keyward admin API -------------------------------------------------

/** @type {import("./support/cli-harness.mjs").FakeRequest[]} */
let requests = [];
/** `${METHOD} ${path}` -> { status, body }, or a function of the query (pages of a listing) */
let routes = {};
let api;
let baseUrl;
let emptyDir;
const dirs = [];

function tempDir(devVars) {
  const dir = mkdtempSync(join(tmpdir(), "keyward-cli-"));
  dirs.push(dir);
  if (devVars !== undefined) writeFileSync(join(dir, ".dev.vars"), devVars);
  return dir;
}

beforeAll(async () => {
  api = await fakeAdminApi((request) => {
    requests.push(request);
    return routes[`${request.method} ${request.path}`];
  });
  baseUrl = api.baseUrl;
  emptyDir = tempDir();
});

afterAll(async () => {
  await api.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  requests = [];
  routes = {};
});

afterEach(() => {
  routes = {};
});

/** @param {Record<string, unknown>} [overrides] */
const keyView = (overrides = {}) => ({
  id: "key_01HZX",
  prefix: "sk_test_9Qx",
  label: "billing worker",
  environment: "test",
  scopes: ["invoices:read", "invoices:write"],
  status: "active",
  createdAt: "2026-07-01T10:00:00.000Z",
  createdBy: "user_alice",
  expiresAt: "2027-01-01T00:00:00.000Z",
  revokedAt: null,
  revokeAt: null,
  lastUsedAt: null,
  rateLimit: { limit: 60, windowSeconds: 60 },
  ...overrides,
});

const admin = (extra = {}) => ({ env: { KEYWARD_URL: baseUrl, KEYWARD_TOKEN: USER_TOKEN, ...extra } });

// --- token ------------------------------------------------------------------

describe("keyward token", () => {
  const secretKey = new TextEncoder().encode(SECRET);

  it("mints an HS256 token signed with the .dev.vars secret, with the requested claims", async () => {
    const cwd = tempDir(
      [
        "# comment",
        "KEYWARD_ENV=development",
        `KEYWARD_DEV_JWT_SECRET='${SECRET}'`,
        "USER_TOKEN_ISSUER=https://issuer.test/",
        "USER_TOKEN_AUDIENCE='keyward-admin'",
        "",
      ].join("\n"),
    );
    const before = Math.floor(Date.now() / 1000);
    const result = await run(
      [
        "token",
        "--org",
        "acme",
        "--role",
        "org:member",
        "--sub",
        "user_42",
        "--ttl",
        "600",
        "--permissions",
        "keys:read keys:write",
        "--customer-ids",
        "c1 c2",
      ],
      { cwd },
    );
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    // Only the token, so $(keyward token ...) works.
    expect(result.stdout).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\n$/);
    const token = result.stdout.trim();

    const { payload, protectedHeader } = await jwtVerify(token, secretKey, {
      algorithms: ["HS256"],
      issuer: "https://issuer.test/",
      audience: "keyward-admin",
    });
    expect(protectedHeader.alg).toBe("HS256");
    expect(payload.sub).toBe("user_42");
    expect(payload.org_id).toBe("acme");
    expect(payload.org_role).toBe("org:member");
    expect(payload.permissions).toEqual(["keys:read", "keys:write"]);
    expect(payload.customer_ids).toEqual(["c1", "c2"]);
    expect(payload.iat).toBeGreaterThanOrEqual(before);
    expect(payload.iat).toBeLessThanOrEqual(before + 5);
    expect(payload.exp - payload.iat).toBe(600);

    // The signature really depends on the secret.
    await expect(jwtVerify(token, new TextEncoder().encode(`${SECRET}x`), { algorithms: ["HS256"] })).rejects.toThrow();
  });

  it("defaults: sub dev-user, one hour, no iss/aud/permissions/customer_ids", async () => {
    const cwd = tempDir(`KEYWARD_ENV=development\nKEYWARD_DEV_JWT_SECRET=${SECRET}\n`);
    const result = await run(["token", "--org", "acme", "--role", "org:admin"], { cwd });
    expect(result.code).toBe(0);
    const token = result.stdout.trim();
    const { payload } = await jwtVerify(token, secretKey, { algorithms: ["HS256"] });
    expect(payload).toEqual({ sub: "dev-user", org_id: "acme", org_role: "org:admin", iat: payload.iat, exp: payload.iat + 3600 });
    expect(decodeProtectedHeader(token)).toEqual({ alg: "HS256", typ: "JWT" });
  });

  it("reads .dev.vars as dotenv does (export, double quotes, a trailing comment, CRLF), as wrangler reads the same file", async () => {
    const cwd = tempDir([`export KEYWARD_ENV="development"  # set by npm run dev`, `KEYWARD_DEV_JWT_SECRET="${SECRET}"`, ""].join("\r\n"));
    const result = await run(["token", "--org", "acme", "--role", "org:admin"], { cwd });
    expect(result.code).toBe(0);
    await expect(jwtVerify(result.stdout.trim(), secretKey, { algorithms: ["HS256"] })).resolves.toBeTruthy();
  });

  it("takes the secret from the environment when there is no .dev.vars", async () => {
    const result = await run(["token", "--org", "acme", "--role", "org:admin"], {
      cwd: emptyDir,
      env: { KEYWARD_ENV: "development", KEYWARD_DEV_JWT_SECRET: SECRET },
    });
    expect(result.code).toBe(0);
    await expect(jwtVerify(result.stdout.trim(), secretKey, { algorithms: ["HS256"] })).resolves.toBeTruthy();
  });

  it("refuses when .dev.vars says KEYWARD_ENV=production (exit 2, no token)", async () => {
    const cwd = tempDir(`KEYWARD_ENV=production\nKEYWARD_DEV_JWT_SECRET=${SECRET}\n`);
    const result = await run(["token", "--org", "acme", "--role", "org:admin"], { cwd });
    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(/refusing.*"production".*\.dev\.vars/);
  });

  it("refuses when the environment says production even if .dev.vars says development", async () => {
    const cwd = tempDir(`KEYWARD_ENV=development\nKEYWARD_DEV_JWT_SECRET=${SECRET}\n`);
    const result = await run(["token", "--org", "acme", "--role", "org:admin"], { cwd, env: { KEYWARD_ENV: "production" } });
    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
  });

  it("refuses without a dev secret, and without KEYWARD_ENV=development", async () => {
    const noSecret = await run(["token", "--org", "acme", "--role", "org:admin"], { cwd: tempDir("KEYWARD_ENV=development\n") });
    expect(noSecret.code).toBe(2);
    expect(noSecret.stdout).toBe("");
    expect(noSecret.stderr).toContain("KEYWARD_DEV_JWT_SECRET");

    const noEnv = await run(["token", "--org", "acme", "--role", "org:admin"], { cwd: tempDir(`KEYWARD_DEV_JWT_SECRET=${SECRET}\n`) });
    expect(noEnv.code).toBe(2);
    expect(noEnv.stdout).toBe("");
    expect(noEnv.stderr).toContain("KEYWARD_ENV");
  });

  it("rejects an unknown role and a bad ttl as usage errors", async () => {
    const cwd = tempDir(`KEYWARD_ENV=development\nKEYWARD_DEV_JWT_SECRET=${SECRET}\n`);
    const role = await run(["token", "--org", "acme", "--role", "admin"], { cwd });
    expect(role.code).toBe(2);
    expect(role.stderr).toContain("--role must be org:admin or org:member");
    expect(role.stdout).toBe("");
    const ttl = await run(["token", "--org", "acme", "--role", "org:admin", "--ttl", "1h"], { cwd });
    expect(ttl.code).toBe(2);
    expect(ttl.stdout).toBe("");
  });
});

// --- keys -------------------------------------------------------------------

describe("keyward keys", () => {
  it("create sends the JSON body with the bearer token and prints the key exactly once, with a warning", async () => {
    routes["POST /_keyward/v1/orgs/acme/keys"] = { status: 201, body: { key: KEY, ...keyView() } };
    const result = await run(
      [
        "keys",
        "create",
        "--org",
        "acme",
        "--label",
        "billing worker",
        "--env",
        "test",
        "--scopes",
        "invoices:read invoices:write",
        "--expires-at",
        "2027-01-01T00:00:00Z",
      ],
      admin(),
    );
    expect(result.code).toBe(0);

    expect(requests).toHaveLength(1);
    const [req] = requests;
    expect(req.method).toBe("POST");
    expect(req.path).toBe("/_keyward/v1/orgs/acme/keys");
    expect(req.headers.authorization).toBe(`Bearer ${USER_TOKEN}`);
    expect(req.headers["content-type"]).toBe("application/json");
    expect(JSON.parse(req.body)).toEqual({
      label: "billing worker",
      environment: "test",
      scopes: ["invoices:read", "invoices:write"],
      expiresAt: "2027-01-01T00:00:00.000Z",
    });

    expect(count(result.stdout + result.stderr, KEY)).toBe(1);
    expect(result.stdout).toContain(KEY);
    expect(result.stderr).toMatch(/warning: .*only time the key is shown/);
    expect(result.stdout).toMatch(/^id\s+key_01HZX$/m);
    expect(result.stdout).toMatch(/^prefix\s+sk_test_9Qx$/m);
    expect(result.stdout).toMatch(/^scopes\s+invoices:read invoices:write$/m);
    expect(result.stdout).toMatch(/^rate limit\s+60 requests \/ 60 s$/m);
    expect(result.stdout + result.stderr).not.toContain(USER_TOKEN);
  });

  it("create sends only the label when nothing else is given; --json prints the raw response", async () => {
    routes["POST /_keyward/v1/orgs/acme/keys"] = { status: 201, body: { key: KEY, ...keyView() } };
    const result = await run(["keys", "create", "--org", "acme", "--label", "ci", "--json"], admin());
    expect(result.code).toBe(0);
    expect(JSON.parse(requests[0].body)).toEqual({ label: "ci" });
    expect(JSON.parse(result.stdout)).toEqual({ key: KEY, ...keyView() });
    expect(count(result.stdout + result.stderr, KEY)).toBe(1);
    expect(result.stderr).toContain("warning");
  });

  it("list prints a readable table, and --json the raw JSON", async () => {
    const keys = [
      keyView({ id: "key_01J2ABCDEFGHJKMNPQRS", prefix: "sk_live_AAA", label: "prod", environment: "live", lastUsedAt: "2026-07-02T08:30:00.000Z" }),
      keyView({ id: "key_B", prefix: "sk_test_BBB", label: "old", status: "revoked", revokedAt: "2026-07-03T12:00:00.000Z" }),
    ];
    routes["GET /_keyward/v1/orgs/acme/keys"] = { status: 200, body: { keys } };

    const table = await run(["keys", "list", "--org", "acme"], admin());
    expect(table.code).toBe(0);
    expect(requests[0].method).toBe("GET");
    expect(requests[0].headers.authorization).toBe(`Bearer ${USER_TOKEN}`);
    const lines = table.stdout.trimEnd().split("\n");
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^ID\s+PREFIX\s+LABEL\s+ENV\s+STATUS\s+CREATED\s+LAST USED\s+REVOKED$/);
    expect(lines[1]).toMatch(/^key_01J2ABCDEFGHJKMNPQRS\s+sk_live_AAA\s+prod\s+live\s+active\s+2026-07-01 10:00:00Z\s+2026-07-02 08:30:00Z\s+-$/);
    expect(lines[2]).toMatch(/^key_B\s+sk_test_BBB\s+old\s+test\s+revoked\s+2026-07-01 10:00:00Z\s+never\s+2026-07-03 12:00:00Z$/);
    // Columns line up: every row's PREFIX starts where the header's does.
    const col = lines[0].indexOf("PREFIX");
    expect(col).toBe("key_01J2ABCDEFGHJKMNPQRS".length + 2);
    expect(lines[1].indexOf("sk_live_AAA")).toBe(col);
    expect(lines[2].indexOf("sk_test_BBB")).toBe(col);
    expect(lines[2].indexOf("never")).toBe(lines[0].indexOf("LAST USED"));

    const json = await run(["keys", "list", "--org", "acme", "--json"], admin());
    expect(json.code).toBe(0);
    // Every page followed: the keys, and no further cursor.
    expect(JSON.parse(json.stdout)).toEqual({ keys, nextCursor: null });
    expect(table.stdout + table.stderr + json.stdout + json.stderr).not.toContain(USER_TOKEN);
  });

  it("list takes --url and the global options before the command, and percent-encodes the org", async () => {
    routes["GET /_keyward/v1/orgs/a%2Fb%20c/keys"] = { status: 200, body: { keys: [] } };
    const result = await run(["--url", baseUrl, "keys", "list", "--org", "a/b c"], { env: { KEYWARD_URL: "http://127.0.0.1:9", KEYWARD_TOKEN: USER_TOKEN } });
    expect(result.code).toBe(0);
    expect(requests.map((r) => r.path)).toEqual(["/_keyward/v1/orgs/a%2Fb%20c/keys"]);
    expect(result.stdout).toContain("no keys for org a/b c");
  });

  it("get shows one key", async () => {
    routes["GET /_keyward/v1/orgs/acme/keys/key_01HZX"] = { status: 200, body: keyView({ lastUsedAt: "2026-07-05T00:00:00.000Z" }) };
    const result = await run(["keys", "get", "--org", "acme", "--id", "key_01HZX"], admin());
    expect(result.code).toBe(0);
    expect(requests[0].method).toBe("GET");
    expect(result.stdout).toMatch(/^label\s+billing worker$/m);
    expect(result.stdout).toMatch(/^last used\s+2026-07-05 00:00:00Z$/m);
    expect(result.stdout).toMatch(/^expires\s+2027-01-01 00:00:00Z$/m);
  });

  it("revoke POSTs {at} when scheduled and {} when immediate, and prints the key view", async () => {
    routes["POST /_keyward/v1/orgs/acme/keys/key_01HZX/revoke"] = {
      status: 200,
      body: keyView({ status: "revoked", revokedAt: "2026-07-04T09:00:00.000Z" }),
    };
    const scheduled = await run(["keys", "revoke", "--org", "acme", "--id", "key_01HZX", "--at", "2026-08-01T00:00:00Z"], admin());
    expect(scheduled.code).toBe(0);
    const now = await run(["keys", "revoke", "--org", "acme", "--id", "key_01HZX"], admin());
    expect(now.code).toBe(0);

    // Each revoke reads the key first (only to say whether anything changes; no GET route here, so no note).
    expect(requests.map((r) => [r.method, r.path])).toEqual([
      ["GET", "/_keyward/v1/orgs/acme/keys/key_01HZX"],
      ["POST", "/_keyward/v1/orgs/acme/keys/key_01HZX/revoke"],
      ["GET", "/_keyward/v1/orgs/acme/keys/key_01HZX"],
      ["POST", "/_keyward/v1/orgs/acme/keys/key_01HZX/revoke"],
    ]);
    expect(JSON.parse(requests[1].body)).toEqual({ at: "2026-08-01T00:00:00.000Z" });
    expect(JSON.parse(requests[3].body)).toEqual({});
    expect(requests[3].headers.authorization).toBe(`Bearer ${USER_TOKEN}`);
    expect(now.stderr).not.toContain("already");
    expect(now.stdout).toMatch(/^status\s+revoked$/m);
    expect(now.stdout).toMatch(/^revoked\s+2026-07-04 09:00:00Z$/m);
  });

  it("keys revoke-all POSTs confirm and the filters, prints the counts, and refuses a wrong --confirm locally", async () => {
    routes["POST /_keyward/v1/orgs/acme/keys/revoke-all"] = { status: 200, body: { revoked: 3, alreadyRevoked: 1 } };
    const ok = await run(
      ["keys", "revoke-all", "--org", "acme", "--confirm", "acme", "--env", "live", "--created-before", "2026-08-01T00:00:00Z", "--label-prefix", "ci-"],
      admin(),
    );
    expect(ok.code).toBe(0);
    expect(ok.stdout).toBe("revoked 3 keys of org acme; 1 were already revoked\n");
    expect(JSON.parse(requests[0].body)).toEqual({ confirm: "acme", environment: "live", createdBefore: "2026-08-01T00:00:00.000Z", labelPrefix: "ci-" });
    const wrong = await run(["keys", "revoke-all", "--org", "acme", "--confirm", "acme2"], admin());
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/--confirm must repeat the org id/);
    expect(requests).toHaveLength(1);
  });

  it("keys revoke-all exits 1 and says to repeat when Keyward stopped part-way", async () => {
    routes["POST /_keyward/v1/orgs/acme/keys/revoke-all"] = {
      status: 503,
      body: {
        code: "AUTH_BACKEND_UNAVAILABLE",
        message: "Part-way: 5 of 5 keys are already refused at their guards. Repeat this call to complete it.",
        requestId: "r",
      },
    };
    const result = await run(["keys", "revoke-all", "--org", "acme", "--confirm", "acme"], admin());
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/Repeat this call/);
  });

  it("does not let server text drive the terminal", async () => {
    routes["GET /_keyward/v1/orgs/acme/keys"] = { status: 200, body: { keys: [keyView({ label: "evil\u001b[2J\u001b]0;pwned\u0007" })] } };
    const result = await run(["keys", "list", "--org", "acme"], admin());
    expect(result.code).toBe(0);
    expect(result.stdout).not.toContain("\u001b");
    expect(result.stdout).not.toContain("\u0007");
    expect(result.stdout).toContain("evil");
  });
});

// --- limit, audit -----------------------------------------------------------

describe("keyward limit set", () => {
  it("PUTs {limit, windowSeconds} with the operator token from .dev.vars", async () => {
    routes["PUT /_keyward/v1/orgs/acme/keys/key_01HZX/rate-limit"] = { status: 200, body: keyView({ rateLimit: { limit: 100, windowSeconds: 30 } }) };
    const cwd = tempDir(`KEYWARD_ENV=development\nKEYWARD_OPERATOR_TOKEN='${OPERATOR}'\n`);
    const result = await run(["limit", "set", "--org", "acme", "--id", "key_01HZX", "--limit", "100", "--window", "30"], {
      cwd,
      env: { KEYWARD_URL: baseUrl },
    });
    expect(result.code).toBe(0);
    expect(requests).toHaveLength(1);
    expect(requests[0].method).toBe("PUT");
    expect(requests[0].path).toBe("/_keyward/v1/orgs/acme/keys/key_01HZX/rate-limit");
    expect(requests[0].headers.authorization).toBe(`Bearer ${OPERATOR}`);
    expect(JSON.parse(requests[0].body)).toEqual({ limit: 100, windowSeconds: 30 });
    expect(result.stdout).toMatch(/^rate limit\s+100 requests \/ 30 s$/m);
    expect(result.stdout + result.stderr).not.toContain(OPERATOR);
  });

  it("prefers KEYWARD_OPERATOR_TOKEN from the environment over .dev.vars, and KEYWARD_TOKEN over both", async () => {
    routes["PUT /_keyward/v1/orgs/acme/keys/k1/rate-limit"] = { status: 200, body: keyView({ id: "k1" }) };
    const cwd = tempDir(`KEYWARD_OPERATOR_TOKEN=${OPERATOR}\n`);
    const args = ["limit", "set", "--org", "acme", "--id", "k1", "--limit", "5", "--window", "1"];
    expect((await run(args, { cwd, env: { KEYWARD_URL: baseUrl, KEYWARD_OPERATOR_TOKEN: "env-operator-token" } })).code).toBe(0);
    expect((await run(args, { cwd, env: { KEYWARD_URL: baseUrl, KEYWARD_TOKEN: USER_TOKEN } })).code).toBe(0);
    expect(requests.map((r) => r.headers.authorization)).toEqual(["Bearer env-operator-token", `Bearer ${USER_TOKEN}`]);
  });

  it("without any token it exits 2 without sending a request", async () => {
    const result = await run(["limit", "set", "--org", "acme", "--id", "k1", "--limit", "5", "--window", "1"], { env: { KEYWARD_URL: baseUrl } });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("KEYWARD_OPERATOR_TOKEN");
    expect(requests).toHaveLength(0);
  });

  it("rejects a non-integer limit or a zero window as usage errors", async () => {
    const env = { KEYWARD_URL: baseUrl, KEYWARD_OPERATOR_TOKEN: OPERATOR };
    const limit = await run(["limit", "set", "--org", "acme", "--id", "k1", "--limit", "1.5", "--window", "60"], { env });
    const window = await run(["limit", "set", "--org", "acme", "--id", "k1", "--limit", "10", "--window", "0"], { env });
    expect(limit.code).toBe(2);
    expect(limit.stderr).toContain("--limit must be an integer");
    expect(window.code).toBe(2);
    expect(window.stderr).toContain("--window must be an integer >= 1");
    expect(requests).toHaveLength(0);
  });
});

describe("keyward audit", () => {
  it("prints the events as a table", async () => {
    routes["GET /_keyward/v1/orgs/acme/audit"] = {
      status: 200,
      body: {
        events: [
          { at: "2026-07-01T10:00:00.000Z", actor: "user_alice", action: "key.created", keyId: "key_A", requestId: "req_1", detail: { environment: "live" } },
          {
            at: 1782903600000,
            actor: "operator",
            action: "key.rate_limit_changed",
            keyId: "key_A",
            requestId: "req_2",
            detail: { limit: 100, windowSeconds: 30 },
          },
        ],
      },
    };
    const result = await run(["audit", "--org", "acme"], admin());
    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^AT\s+ACTOR\s+ACTION\s+KEY\s+REQUEST\s+DETAIL$/);
    expect(lines[1]).toMatch(/^2026-07-01 10:00:00Z\s+user_alice\s+key\.created\s+key_A\s+req_1\s+environment=live$/);
    expect(lines[2]).toMatch(/^2026-07-01 11:00:00Z\s+operator\s+key\.rate_limit_changed\s+key_A\s+req_2\s+limit=100, windowSeconds=30$/);
  });

  it("shows a rate-limit change and a scheduled time in words, not as JSON", async () => {
    routes["GET /_keyward/v1/orgs/acme/audit"] = {
      status: 200,
      body: {
        events: [
          {
            at: "2026-07-01T11:00:00.000Z",
            actor: "operator",
            action: "key.rate_limit_changed",
            keyId: "key_A",
            requestId: "req_2",
            detail: { from: { limit: 60, windowSeconds: 60 }, to: { limit: 100, windowSeconds: 30 } },
          },
          {
            at: "2026-07-01T12:00:00.000Z",
            actor: "user:u",
            action: "key.revocation_scheduled",
            keyId: "key_A",
            requestId: "req_3",
            detail: { at: "2027-01-01T00:00:00.000Z" },
          },
        ],
      },
    };
    const result = await run(["audit", "--org", "acme"], admin());
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/key\.rate_limit_changed\s+key_A\s+req_2\s+from=60 per 60 s, to=100 per 30 s$/m);
    expect(result.stdout).toMatch(/key\.revocation_scheduled\s+key_A\s+req_3\s+at=2027-01-01 00:00:00Z$/m);
    expect(result.stdout).not.toContain("{");
  });
});

describe("keyward audit: filters and paging (threats.md 74)", () => {
  const entry = (n, extra = {}) => ({
    at: `2026-07-01T10:00:${String(n).padStart(2, "0")}.000Z`,
    actor: "report",
    action: "key.leak_reported_again",
    keyId: "key_A",
    requestId: `req_${n}`,
    detail: {},
    count: 1,
    ...extra,
  });

  it("sends the filters to the server, follows its cursor to --limit entries, and says how to page on", async () => {
    routes["GET /_keyward/v1/orgs/acme/audit"] = (query) =>
      query.get("cursor") === "c2"
        ? { status: 200, body: { events: [entry(2)], nextCursor: "c3" } }
        : { status: 200, body: { events: [entry(1, { count: 7 })], nextCursor: "c2" } };
    const args = ["audit", "--org", "acme", "--key", "key_A", "--action", "key.leak_reported_again", "--actor", "report"];
    const result = await run([...args, "--since", "2026-07-01T00:00:00Z", "--until", "2026-07-02", "--limit", "2"], admin());
    expect(result.code).toBe(0);
    const sent = requests.filter((r) => r.path === "/_keyward/v1/orgs/acme/audit").map((r) => r.query);
    expect(sent).toEqual([
      { key: "key_A", action: "key.leak_reported_again", actor: "report", since: "2026-07-01T00:00:00.000Z", until: "2026-07-02T00:00:00.000Z", limit: "2" },
      {
        key: "key_A",
        action: "key.leak_reported_again",
        actor: "report",
        since: "2026-07-01T00:00:00.000Z",
        until: "2026-07-02T00:00:00.000Z",
        limit: "1",
        cursor: "c2",
      },
    ]);
    expect(result.stdout).toMatch(/key\.leak_reported_again x7\s+key_A\s+req_1/);
    expect(result.stdout).toMatch(/older entries: add --cursor c3\n$/);
  });

  it("refuses a malformed --since before sending anything, and its --help says what it shows", async () => {
    const bad = await run(["audit", "--org", "acme", "--since", "yesterday"], admin());
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--since must be an ISO date-time");
    expect(requests).toHaveLength(0);
    const help = await run(["audit", "--help"]);
    expect(help.stdout).toMatch(/newest first/);
    for (const flag of ["--key", "--action", "--actor", "--since", "--until", "--limit", "--cursor"]) expect(help.stdout).toContain(flag);
  });
});

// --- failures ---------------------------------------------------------------

describe("failures", () => {
  it("a server error prints `error CODE: message`, the field and request id, and exits 1", async () => {
    routes["POST /_keyward/v1/orgs/acme/keys"] = {
      status: 400,
      body: { code: "INVALID_REQUEST", message: "label must be 1-100 characters", requestId: "req_abc123", field: "label" },
    };
    const result = await run(["keys", "create", "--org", "acme", "--label", "x"], admin());
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain("error INVALID_REQUEST: label must be 1-100 characters (field: label)");
    expect(result.stderr).toContain("request id: req_abc123");
    expect(result.stderr).not.toContain("warning");
    expect(result.stderr).not.toContain(USER_TOKEN);
  });

  it("a 403 without a field", async () => {
    routes["GET /_keyward/v1/orgs/other/keys"] = { status: 403, body: { code: "ORG_MISMATCH", message: "The token is for another org.", requestId: "req_9" } };
    const result = await run(["keys", "list", "--org", "other"], admin());
    expect(result.code).toBe(1);
    expect(result.stderr.split("\n")[0]).toBe("error ORG_MISMATCH: The token is for another org.");
    expect(result.stdout).toBe("");
  });

  it("a non-JSON error answer still exits 1 with the status", async () => {
    routes["GET /_keyward/v1/orgs/acme/audit"] = { status: 502, body: "Bad Gateway" };
    const result = await run(["audit", "--org", "acme"], admin());
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("error HTTP 502: Bad Gateway");
  });

  it("an unreachable URL exits 1 and names the URL", async () => {
    const closed = createServer();
    await new Promise((resolve) => closed.listen(0, "127.0.0.1", () => resolve(undefined)));
    const port = /** @type {import("node:net").AddressInfo} */ (closed.address()).port;
    await new Promise((resolve) => closed.close(resolve));
    const result = await run(["keys", "list", "--org", "acme", "--url", `http://127.0.0.1:${port}`], { env: { KEYWARD_TOKEN: USER_TOKEN } });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain(`cannot reach Keyward at http://127.0.0.1:${port}/`);
    expect(result.stderr).not.toContain(USER_TOKEN);
  });

  it.each([
    [["keys", "list"], /missing required option --org/],
    [["keys", "create", "--org", "acme"], /missing required option --label/],
    [["keys", "revoke", "--org", "acme"], /missing required option --id/],
    [["keys", "frobnicate", "--org", "acme"], /unknown command `keys frobnicate`/],
    [["keys"], /needs a subcommand/],
    [["launch"], /unknown command `launch`/],
    [[], /no command given/],
    [["keys", "list", "--org", "acme", "--colour"], /Unknown option '--colour'/],
    [["keys", "list", "--org", "acme", "extra"], /unexpected argument 'extra'/i],
    [["keys", "list", "extra", "--org", "acme"], /unexpected argument `extra`/],
    [["keys", "create", "--org", "acme", "--label", "x", "--env", "staging"], /--env must be live or test/],
    [["keys", "revoke", "--org", "acme", "--id", "k", "--at", "tomorrow"], /--at must be an ISO date-time/],
    [["keys", "list", "--org", "acme", "--url", "ftp://127.0.0.1"], /must be an http\(s\) URL/],
  ])("usage error %j exits 2 with usage text and sends nothing", async (args, message) => {
    const result = await run(args, admin());
    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(message);
    expect(result.stderr).toContain("Usage: keyward");
    expect(requests).toHaveLength(0);
  });

  it("an admin command without a token exits 2 and sends nothing", async () => {
    const result = await run(["keys", "list", "--org", "acme"], { env: { KEYWARD_URL: baseUrl } });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("no token");
    expect(requests).toHaveLength(0);
  });

  it("--help works on every command and exits 0", async () => {
    for (const args of [
      ["--help"],
      ["token", "--help"],
      ["keys", "--help"],
      ["keys", "create", "--help"],
      ["keys", "list", "-h"],
      ["keys", "get", "--help"],
      ["keys", "revoke", "--help"],
      ["limit", "set", "--help"],
      ["audit", "--help"],
    ]) {
      const result = await run(args);
      expect(result.code, args.join(" ")).toBe(0);
      expect(result.stdout, args.join(" ")).toContain("Usage: keyward");
      expect(result.stderr).toBe("");
    }
    expect(requests).toHaveLength(0);
  });
});

describe("newcomer conveniences", () => {
  it("--version prints the package version", async () => {
    const result = await run(["--version"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^keyward \d+\.\d+\.\d+\n$/);
  });

  it("each --help lists the global options that apply to the command, and only those", async () => {
    const token = await run(["token", "--help"]);
    expect(token.stdout).not.toMatch(/--url|--token|--json/);
    expect(token.stdout).toContain("-h, --help");
    for (const args of [
      ["keys", "--help"],
      ["limit", "--help"],
      ["keys", "list", "--help"],
      ["audit", "--help"],
    ]) {
      const help = await run(args);
      expect(help.stdout, args.join(" ")).toMatch(/--url URL[\s\S]*--token TOKEN[\s\S]*--json/);
    }
    const refused = await run(["token", "--org", "acme", "--role", "org:admin", "--url", "http://127.0.0.1:1"]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/--url/);
  });

  it("create --quiet prints only the key", async () => {
    routes["POST /_keyward/v1/orgs/acme/keys"] = { status: 201, body: { key: KEY, ...keyView() } };
    const result = await run(["keys", "create", "--org", "acme", "--label", "ci", "--quiet"], admin());
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`${KEY}\n`);
    expect(result.stderr).toContain("only time the key is shown");
  });

  it("list --quiet prints only the key ids, in the server's order (newest first)", async () => {
    routes["GET /_keyward/v1/orgs/acme/keys"] = { status: 200, body: { keys: [keyView({ id: "key_new" }), keyView({ id: "key_old" })] } };
    const result = await run(["keys", "list", "--org", "acme", "-q"], admin());
    expect(result.code).toBe(0);
    expect(result.stdout).toBe("key_new\nkey_old\n");
  });

  it("revoking an already-revoked key says so", async () => {
    const revoked = keyView({ status: "revoked", revokedAt: "2026-07-04T09:00:00.000Z" });
    routes["GET /_keyward/v1/orgs/acme/keys/key_01HZX"] = { status: 200, body: revoked };
    routes["POST /_keyward/v1/orgs/acme/keys/key_01HZX/revoke"] = { status: 200, body: revoked };
    const result = await run(["keys", "revoke", "--org", "acme", "--id", "key_01HZX"], admin());
    expect(result.code).toBe(0);
    expect(result.stderr).toContain("note: key_01HZX was already revoked at 2026-07-04 09:00:00Z; nothing changed.");
    routes["GET /_keyward/v1/orgs/acme/keys/key_01HZX"] = { status: 200, body: keyView() };
    const fresh = await run(["keys", "revoke", "--org", "acme", "--id", "key_01HZX"], admin());
    expect(fresh.stderr).not.toContain("already");
  });
});

describe("keyward usage and anomalies", () => {
  const page = (ids, nextCursor) => ({
    status: 200,
    body: {
      keys: ids.map((id) => ({
        id,
        prefix: "sk_live_0000",
        label: id,
        environment: "live",
        status: "active",
        createdAt: "2027-01-01T00:00:00Z",
        lastUsedAt: null,
      })),
      nextCursor,
    },
  });

  it("keys list follows cursors to the end, sends the filters, and --json prints every key with nextCursor null", async () => {
    routes["GET /_keyward/v1/orgs/acme/keys"] = (q) =>
      q.get("cursor") === null ? page(["key_a", "key_b"], "c1") : q.get("cursor") === "c1" ? page(["key_c"], null) : undefined;
    const r = await run(["keys", "list", "--org", "acme", "--status", "active", "--env", "live", "--sort", "lastUsed", "--json", "--url", baseUrl], {
      env: { KEYWARD_TOKEN: USER_TOKEN },
    });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ keys: [{ id: "key_a" }, { id: "key_b" }, { id: "key_c" }], nextCursor: null });
    expect(requests.map((q) => q.query)).toEqual([
      { status: "active", environment: "live", sort: "lastUsed", limit: "1000" },
      { status: "active", environment: "live", sort: "lastUsed", limit: "1000", cursor: "c1" },
    ]);
  });

  it("keys list --search sends the search as q on every page it follows", async () => {
    routes["GET /_keyward/v1/orgs/acme/keys"] = (q) => (q.get("cursor") === null ? page(["key_a"], "c1") : page(["key_b"], null));
    const r = await run(["keys", "list", "--org", "acme", "--search", "billing", "--quiet", "--url", baseUrl], { env: { KEYWARD_TOKEN: USER_TOKEN } });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("key_a\nkey_b\n");
    expect(requests.map((q) => q.query)).toEqual([
      { q: "billing", limit: "1000" },
      { q: "billing", limit: "1000", cursor: "c1" },
    ]);
  });

  it("keys list --limit stops following once it has enough keys, and refuses a bad --status locally", async () => {
    routes["GET /_keyward/v1/orgs/acme/keys"] = (q) => (q.get("cursor") === null ? page(["key_a", "key_b"], "c1") : page(["key_c"], null));
    const r = await run(["keys", "list", "--org", "acme", "--limit", "2", "--quiet", "--url", baseUrl], { env: { KEYWARD_TOKEN: USER_TOKEN } });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("key_a\nkey_b\n");
    expect(requests).toHaveLength(1);
    expect(requests[0]?.query.limit).toBe("2");
    requests = [];
    const bad = await run(["keys", "list", "--org", "acme", "--status", "lost", "--url", baseUrl], { env: { KEYWARD_TOKEN: USER_TOKEN } });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--status must be");
    expect(requests).toHaveLength(0);
  });

  it("usage --id prints the key's buckets with a sparkline, where it was used, and asks for the right range", async () => {
    routes["GET /_keyward/v1/orgs/acme/keys/key_a/usage"] = {
      status: 200,
      body: {
        keyId: "key_a",
        granularity: "minute",
        buckets: [
          { start: "2027-01-01T10:00:00Z", admitted: 3, refused: { RATE_LIMITED: 3 } },
          { start: "2027-01-01T10:01:00Z", admitted: 1, refused: {} },
        ],
        locations: { countries: ["DE"], asns: ["3320"], colos: [] },
        lastUsedAt: "2027-01-01T10:01:30Z",
      },
    };
    const r = await run(["usage", "--org", "acme", "--id", "key_a", "--granularity", "minute", "--since", "90m", "--url", baseUrl], {
      env: { KEYWARD_TOKEN: USER_TOKEN },
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("admitted █▃");
    expect(r.stdout).toContain("refused  █▁");
    expect(r.stdout).toContain("RATE_LIMITED 3");
    expect(r.stdout).toContain("countries DE; ASNs 3320");
    const q = requests[0]?.query;
    expect(q?.granularity).toBe("minute");
    expect(Date.now() - Date.parse(q?.from ?? "")).toBeGreaterThan(89 * 60_000);
    expect(Date.now() - Date.parse(q?.from ?? "")).toBeLessThan(91 * 60_000);
  });

  it("usage for the org prints totals and the busiest keys; --json the raw answer; a bad --since is a usage error", async () => {
    const body = {
      org: "acme",
      granularity: "day",
      totals: { admitted: 5, refused: { KEY_REVOKED: 2 } },
      buckets: [],
      topKeys: [{ keyId: "key_a", admitted: 4, refused: 0 }],
    };
    routes["GET /_keyward/v1/orgs/acme/usage"] = { status: 200, body };
    const r = await run(["usage", "--org", "acme", "--granularity", "day", "--url", baseUrl], { env: { KEYWARD_TOKEN: USER_TOKEN } });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("total admitted 5, refused 2");
    expect(r.stdout).toContain("key_a  admitted 4, refused 0");
    const json = await run(["usage", "--org", "acme", "--json", "--url", baseUrl], { env: { KEYWARD_TOKEN: USER_TOKEN } });
    expect(JSON.parse(json.stdout)).toEqual(body);
    const bad = await run(["usage", "--org", "acme", "--since", "yesterday", "--url", baseUrl], { env: { KEYWARD_TOKEN: USER_TOKEN } });
    expect(bad.code).toBe(2);
    const minuteOrg = await run(["usage", "--org", "acme", "--granularity", "minute", "--url", baseUrl], { env: { KEYWARD_TOKEN: USER_TOKEN } });
    expect(minuteOrg.code).toBe(2);
  });

  it("anomalies lists open flags (--all asks for every one) and anomalies ack POSTs the acknowledgement", async () => {
    const flag = {
      id: "anm_1",
      type: "browser_use",
      keyId: "key_a",
      message: "This secret key was sent from a web browser 1 time(s).",
      details: {},
      firstSeenAt: "2027-01-01T10:00:00Z",
      lastSeenAt: "2027-01-01T10:05:00Z",
      acknowledgedAt: null,
      acknowledgedBy: null,
    };
    routes["GET /_keyward/v1/orgs/acme/anomalies"] = { status: 200, body: { anomalies: [flag] } };
    const r = await run(["anomalies", "--org", "acme", "--url", baseUrl], { env: { KEYWARD_TOKEN: USER_TOKEN } });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("browser_use");
    expect(r.stdout).toContain("sent from a web browser");
    await run(["anomalies", "--org", "acme", "--all", "--url", baseUrl], { env: { KEYWARD_TOKEN: USER_TOKEN } });
    expect(requests.map((q) => q.query.status)).toEqual(["open", "all"]);
    routes["POST /_keyward/v1/orgs/acme/anomalies/anm_1/acknowledge"] = {
      status: 200,
      body: { ...flag, acknowledgedAt: "2027-01-01T11:00:00Z", acknowledgedBy: "user:u1" },
    };
    const ack = await run(["anomalies", "ack", "--org", "acme", "--id", "anm_1", "--url", baseUrl], { env: { KEYWARD_TOKEN: USER_TOKEN } });
    expect(ack.code).toBe(0);
    expect(ack.stdout).toContain("acknowledged anm_1 (browser_use on key_a)");
    expect(requests.at(-1)).toMatchObject({ method: "POST", path: "/_keyward/v1/orgs/acme/anomalies/anm_1/acknowledge" });
  });
});

// bin/keyward.js itself: the exit code and the two streams of a real process.
describe("bin/keyward.js as a process", () => {
  it("prints a key on stdout and exits 0", async () => {
    routes["GET /_keyward/v1/orgs/acme/keys/key_01HZX"] = { status: 200, body: keyView() };
    const result = await spawnKeyward(["keys", "get", "--org", "acme", "--id", "key_01HZX"], { cwd: emptyDir, ...admin() });
    expect(result).toMatchObject({ code: 0, stderr: "" });
    expect(result.stdout).toContain("billing worker");
    expect(requests).toHaveLength(1);
  });

  it("exits 1 with the server's error on stderr and nothing on stdout", async () => {
    routes["GET /_keyward/v1/orgs/acme/audit"] = { status: 403, body: { code: "INSUFFICIENT_PERMISSIONS", message: "Admins only.", requestId: "req_7" } };
    const result = await spawnKeyward(["audit", "--org", "acme"], { cwd: emptyDir, ...admin() });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain("error INSUFFICIENT_PERMISSIONS: Admins only.");
  });
});
