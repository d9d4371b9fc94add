// @ts-check
// End to end: a real OpenID provider (`oidc-provider`) issues JWT access tokens,
// Keyward runs under `wrangler dev` (workerd, local KV and Durable Objects) and
// verifies them against the provider's JWKS, and the demo echo origin shows what
// got through. Everything listens on 127.0.0.1 only.
//
// The role-by-route outcomes observed here are rendered into docs/role-table.md
// (a file snapshot: `node scripts/role-table.mjs` regenerates it).
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { request } from "node:http";
import { createLocalJWKSet, decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEchoOrigin } from "../demo/echo-origin.mjs";
import { verifyKeywardContext } from "../src/origin/verify-context.ts";
import { startKeywardDev } from "../test-support/wrangler-dev.mjs";
import { startIdentityProvider } from "./support/oidc-idp.mjs";
import { renderRoleTable } from "./support/role-table.mjs";

const AUDIENCE = "https://api.example.com";
const ORG = "org_acme";

/** One OAuth client per person; their tokens carry these claims (extraTokenClaims). */
const PEOPLE = {
  "olga-owner": { org_id: ORG, org_role: "org:admin" },
  "ada-admin": { org_id: ORG, org_role: "org:member", role: "admin" },
  "lin-limited": { org_id: ORG, org_role: "org:member", role: "limited", customer_ids: ["cus_1", "cus_2"] },
  "sam-support": { org_id: ORG, org_role: "org:member", role: "support" },
  "gus-globex": { org_id: "org_globex", org_role: "org:admin", role: "admin" },
};

/** Customers and their subscriptions. Listing every customer needs resources:all (admin, support). */
const POLICY = {
  rules: [
    { method: "GET", path: "/customers", permission: "resources:all" },
    { method: "GET", path: "/customers/:customerId", permission: "customers:read", resource: "customerId" },
    { method: ["PUT", "PATCH", "DELETE"], path: "/customers/:customerId", permission: "customers:write", resource: "customerId" },
    { method: "GET", path: "/customers/:customerId/subscriptions", permission: "subscriptions:read", resource: "customerId" },
    { method: "POST", path: "/customers/:customerId/subscriptions", permission: "subscriptions:write", resource: "customerId" },
    { method: "DELETE", path: "/customers/:customerId/subscriptions/:subscriptionId", permission: "subscriptions:write", resource: "customerId" },
  ],
};

const OK = { status: 200 };
const DENY = { status: 403, code: "INSUFFICIENT_PERMISSIONS" };
const MISMATCH = { status: 403, code: "ORG_MISMATCH" };

const COLUMNS = [
  { id: "ada-admin", title: "admin" },
  { id: "lin-limited", title: "limited (cus_1, cus_2)" },
  { id: "sam-support", title: "support" },
  { id: null, title: "key alone (no user token)" },
  { id: "gus-globex", title: "another org's admin" },
];

/** What each role may do: the contract this test holds Keyward to. */
const EXPECTED = [
  { method: "GET", path: "/customers", note: "list all", admin: OK, limited: DENY, support: OK },
  { method: "GET", path: "/customers/cus_1", note: "assigned to limited", admin: OK, limited: OK, support: OK },
  { method: "GET", path: "/customers/cus_9", note: "not assigned", admin: OK, limited: DENY, support: OK },
  { method: "PATCH", path: "/customers/cus_1", admin: OK, limited: OK, support: DENY },
  { method: "PUT", path: "/customers/cus_9", admin: OK, limited: DENY, support: DENY },
  { method: "DELETE", path: "/customers/cus_9", admin: OK, limited: DENY, support: DENY },
  { method: "GET", path: "/customers/cus_2/subscriptions", admin: OK, limited: OK, support: OK },
  { method: "GET", path: "/customers/cus_9/subscriptions", admin: OK, limited: DENY, support: OK },
  { method: "POST", path: "/customers/cus_2/subscriptions", admin: OK, limited: OK, support: DENY },
  { method: "POST", path: "/customers/cus_9/subscriptions", admin: OK, limited: DENY, support: DENY },
  { method: "DELETE", path: "/customers/cus_1/subscriptions/sub_1", admin: OK, limited: OK, support: DENY },
  { method: "GET", path: "/reports", note: "no rule", admin: DENY, limited: DENY, support: DENY, key: DENY },
  { method: "GET", path: "/customers/cus_1/../cus_9", note: "sent raw; `..` resolves before the policy", admin: OK, limited: DENY, support: OK },
  { method: "GET", path: "/customers/cus_1%2F..%2Fcus_9", note: "encoded slash", admin: DENY, limited: DENY, support: DENY, key: DENY },
];

const expectedFor = (row, columnId) => {
  if (columnId === "gus-globex") return MISMATCH;
  if (columnId === null) return row.key ?? OK;
  return row[{ "ada-admin": "admin", "lin-limited": "limited", "sam-support": "support" }[columnId]];
};

let idp;
let origin;
let keyward;
let jwksHits = 0;
const originSeen = [];
const tokens = {};
const keys = {};

/** Sends a request through Keyward with the path exactly as given (no client-side normalisation), as an attacker could. */
function send(method, path, headers = {}) {
  const { hostname, port } = new URL(keyward.url);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, method, path, headers }, (res) => {
      let text = "";
      res.setEncoding("utf8").on("data", (d) => {
        text += d;
      });
      res.on("end", () => {
        let body = null;
        try {
          body = JSON.parse(text);
        } catch {}
        resolve({ status: res.statusCode, body, headers: res.headers });
      });
    });
    req.on("error", reject);
    req.end();
  });
}

const dual = (key, token, method, path) => send(method, path, { "x-api-key": key, ...(token ? { authorization: `Bearer ${token}` } : {}) });

beforeAll(async () => {
  idp = await startIdentityProvider({ audience: AUDIENCE, people: PEOPLE, onRequest: (req) => req.url?.startsWith("/jwks") && jwksHits++ });
  origin = await startEchoOrigin({ port: 0 });
  origin.on("request", (req) => originSeen.push({ method: req.method, path: req.url, headers: req.headers }));

  const signingJwk = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ format: "jwk" });
  keyward = await startKeywardDev({
    // The vitest config has bundled the console when the run started.
    build: false,
    vars: {
      KEYWARD_ENV: "development",
      ORIGIN_URL: `http://127.0.0.1:${origin.address().port}`,
      USER_JWKS_URL: idp.jwksUri,
      USER_TOKEN_ISSUER: idp.issuer,
      USER_TOKEN_AUDIENCE: AUDIENCE,
      USER_JWT_ALGORITHMS: "RS256",
      ROUTE_POLICY: JSON.stringify(POLICY),
      KEYWARD_SIGNING_KEY: JSON.stringify({ ...signingJwk, kid: "dev-e2e" }),
      KEYWARD_DEV_JWT_SECRET: randomBytes(32).toString("hex"),
      KEYWARD_OPERATOR_TOKEN: `dev_op_${randomBytes(24).toString("hex")}`,
    },
  });
  for (const id of Object.keys(PEOPLE)) tokens[id] = await idp.token(id);
}, 120_000);

afterAll(async () => {
  await keyward?.stop();
  await new Promise((resolve) => (origin ? origin.close(() => resolve(undefined)) : resolve(undefined)));
  await idp?.close();
});

describe("keys are created through the admin API with a token from the identity provider", () => {
  it("issues JWT access tokens carrying the claims Keyward reads", () => {
    const claims = decodeJwt(tokens["lin-limited"]);
    expect(claims).toMatchObject({ iss: idp.issuer, aud: AUDIENCE, sub: "lin-limited", org_id: ORG, role: "limited", customer_ids: ["cus_1", "cus_2"] });
    expect(claims.scope).toBeUndefined();
    expect(claims.exp).toBeGreaterThan(Date.now() / 1000);
  });

  it("lets the org:admin create keys, refuses a member (403) and another org's admin (404)", async () => {
    const create = (token, org = ORG) =>
      fetch(`${keyward.url}/_keyward/v1/orgs/${org}/keys`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ label: "e2e" }),
      });
    const member = await create(tokens["ada-admin"]);
    expect(member.status).toBe(403);
    expect((await member.json()).code).toBe("INSUFFICIENT_PERMISSIONS");
    const stranger = await create(tokens["gus-globex"]);
    expect(stranger.status).toBe(404);

    // One key per column of the role table, so that no column runs into another's rate limit.
    for (const column of COLUMNS) {
      const res = await create(tokens["olga-owner"]);
      expect(res.status).toBe(201);
      const body = await res.json();
      expect(body.key).toMatch(/^sk_live_[0-9a-f]{40}$/);
      keys[column.id ?? "key"] = body.key;
    }
    const globex = await create(tokens["gus-globex"], "org_globex");
    expect(globex.status).toBe(201);
    keys.globex = (await globex.json()).key;
  });
});

describe("each role gets exactly the access its preset allows", () => {
  const observed = [];

  it("matches the role table for every role and route", async () => {
    expect(Object.keys(keys)).toHaveLength(COLUMNS.length + 1);
    const mismatches = [];
    for (const row of EXPECTED) {
      const outcomes = {};
      for (const column of COLUMNS) {
        const before = originSeen.length;
        const res = await dual(keys[column.id ?? "key"], column.id ? tokens[column.id] : null, row.method, row.path);
        const outcome = res.status === 200 ? { status: 200 } : { status: res.status, code: res.body?.code };
        outcomes[column.id ?? "key"] = outcome;
        const want = expectedFor(row, column.id);
        if (outcome.status !== want.status || outcome.code !== want.code)
          mismatches.push(`${column.title}: ${row.method} ${row.path} -> ${JSON.stringify(outcome)}, want ${JSON.stringify(want)}`);
        // A refusal never reaches the origin; an admission reaches it exactly once.
        expect(originSeen.length - before, `${column.title} ${row.method} ${row.path}`).toBe(res.status === 200 ? 1 : 0);
      }
      observed.push({ method: row.method, path: row.path, note: row.note, outcomes });
    }
    expect(mismatches).toEqual([]);
  });

  it("renders the observed outcomes into docs/role-table.md", async () => {
    expect(observed).toHaveLength(EXPECTED.length);
    const markdown = renderRoleTable({
      columns: COLUMNS.map((c) => ({ id: c.id ?? "key", title: c.title })),
      rows: observed,
      policy: POLICY,
      people: Object.fromEntries(Object.entries(PEOPLE).filter(([id]) => id !== "olga-owner")),
    });
    await expect(markdown).toMatchFileSnapshot("../docs/role-table.md");
  });
});

describe("what the origin receives", () => {
  it("gets the user and the effective permissions, in headers and in a verifiable X-Keyward-Context, never a credential", async () => {
    const res = await dual(keys["lin-limited"], tokens["lin-limited"], "GET", "/customers/cus_1");
    expect(res.status).toBe(200);
    const seen = res.body;
    expect(seen.path).toBe("/customers/cus_1");
    expect(seen.headers["x-keyward-user"]).toBe("lin-limited");
    expect(seen.headers["x-keyward-permissions"]).toBe("customers:read customers:write subscriptions:read subscriptions:write");
    expect(seen.headers["x-keyward-org"]).toBe(ORG);
    expect(seen.headers.authorization).toBeUndefined();
    expect(seen.headers["x-api-key"]).toBeUndefined();

    const jwks = createLocalJWKSet(await (await fetch(`${keyward.url}/_keyward/.well-known/jwks.json`)).json());
    const forwarded = new Request(`http://origin.test${seen.path}`, {
      method: seen.method,
      headers: { "x-keyward-context": seen.headers["x-keyward-context"] },
    });
    const who = await verifyKeywardContext(forwarded, { jwks });
    expect(who).toMatchObject({
      org: ORG,
      user: "lin-limited",
      permissions: ["customers:read", "customers:write", "subscriptions:read", "subscriptions:write"],
    });
  });

  it("receives the path Keyward judged: a raw dot segment is resolved before the policy, never after", async () => {
    const res = await dual(keys["ada-admin"], tokens["ada-admin"], "GET", "/customers/cus_1/../cus_9");
    expect(res.status).toBe(200);
    expect(res.body.path).toBe("/customers/cus_9");
    const limited = await dual(keys["lin-limited"], tokens["lin-limited"], "GET", "/customers/cus_1/%2e%2e/cus_9");
    expect(limited.status).toBe(403);
  });

  it("narrows an admin to the key's scopes", async () => {
    const created = await fetch(`${keyward.url}/_keyward/v1/orgs/${ORG}/keys`, {
      method: "POST",
      headers: { authorization: `Bearer ${tokens["olga-owner"]}`, "content-type": "application/json" },
      body: JSON.stringify({ label: "read-only", scopes: ["customers:read", "resources:all"] }),
    });
    expect(created.status).toBe(201);
    const { key } = await created.json();
    const read = await dual(key, tokens["ada-admin"], "GET", "/customers/cus_9");
    expect(read.status).toBe(200);
    expect(read.body.headers["x-keyward-permissions"]).toBe("customers:read resources:all");
    const write = await dual(key, tokens["ada-admin"], "PATCH", "/customers/cus_9");
    expect(write.status).toBe(403);
    expect(write.body.code).toBe("INSUFFICIENT_PERMISSIONS");
  });
});

describe("refusals of tokens end to end", () => {
  it("refuses a token of this provider for another audience, a tampered token, and an expired-looking one: 401", async () => {
    const [head, payload, sig] = tokens["sam-support"].split(".");
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString());
    const forged = Buffer.from(JSON.stringify({ ...claims, role: "admin" })).toString("base64url");
    for (const token of [`${head}.${forged}.${sig}`, `${head}.${payload}.${sig.slice(0, -4)}AAAA`]) {
      const res = await dual(keys["sam-support"], token, "GET", "/customers/cus_1");
      expect(res.status).toBe(401);
      expect(res.body.code).toBe("INVALID_USER_TOKEN");
    }
  });

  it("answers a valid token with an unknown key 401 INVALID_API_KEY, and an org mismatch 403", async () => {
    const unknown = `sk_live_${"0".repeat(32)}`;
    const res = await dual(`${unknown}00000000`, tokens["ada-admin"], "GET", "/customers/cus_1");
    expect(res.status).toBe(401);
    expect(res.body.code).toBe("INVALID_API_KEY");
    const mismatch = await dual(keys.globex, tokens["ada-admin"], "GET", "/customers/cus_1");
    expect(mismatch.status).toBe(403);
    expect(mismatch.body.code).toBe("ORG_MISMATCH");
  });

  it("fetched the provider's JWKS, and only a few times for all of the above", () => {
    expect(jwksHits).toBeGreaterThanOrEqual(1);
    expect(jwksHits).toBeLessThanOrEqual(3);
  });
});
