// @ts-check
// The `keyward` CLI's plan commands, run in process against a fake admin API on 127.0.0.1.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { fakeAdminApi, runKeyward } from "./support/cli-harness.mjs";

const OPERATOR = "dev_op_operator_token_for_plan_tests_0123456789";
const USER_TOKEN = "user.token.for-plan-tests";

// An empty working directory: no .dev.vars of the checkout is read.
const cwd = mkdtempSync(join(tmpdir(), "keyward-cli-plans-"));
const run = (args, env) => runKeyward(args, { cwd, env: { KEYWARD_URL: api.baseUrl, ...env } });

let requests = [];
let routes = {};
let api;

beforeAll(async () => {
  api = await fakeAdminApi((request) => {
    requests.push(request);
    return routes[`${request.method} ${request.path}`];
  });
});
afterAll(async () => {
  await api.close();
  rmSync(cwd, { recursive: true, force: true });
});
beforeEach(() => {
  requests = [];
  routes = {};
});

const view = (extra = {}) => ({
  id: "key_0123456789abcdef0123",
  prefix: "sk_live_abc",
  label: "pro plan",
  environment: "live",
  scopes: null,
  status: "active",
  createdAt: "2026-07-01T10:00:00.000Z",
  createdBy: "user:alice",
  expiresAt: null,
  revokedAt: null,
  revokeAt: null,
  lastUsedAt: null,
  rateLimit: { limit: 60, windowSeconds: 60 },
  credits: null,
  meta: null,
  ...extra,
});

describe("keyward plan commands", () => {
  it("keys create sends credits with a monthly refill and meta, and shows them", async () => {
    const credits = { remaining: 1000, refill: { interval: "monthly", amount: 50000, refillDay: 1 }, nextRefillAt: "2026-08-01T00:00:00.000Z" };
    routes["POST /_keyward/v1/orgs/acme/keys"] = { status: 201, body: { key: "sk_live_x", ...view({ credits, meta: { plan: "pro" } }) } };
    const result = await run(
      ["keys", "create", "--org", "acme", "--label", "pro plan", "--credits", "1000", "--refill", "monthly:50000:1", "--meta", '{"plan":"pro"}'],
      { KEYWARD_TOKEN: USER_TOKEN },
    );
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(requests[0].body)).toEqual({
      label: "pro plan",
      credits: { remaining: 1000, refill: { interval: "monthly", amount: 50000, refillDay: 1 } },
      meta: { plan: "pro" },
    });
    expect(result.stdout).toMatch(/^credits\s+1000 left, refilled to 50000 monthly on day 1/m);
    expect(result.stdout).toMatch(/^meta\s+\{"plan":"pro"\}$/m);
  });

  it.each([
    [["--credits", "5", "--refill", "weekly:5"], /--refill must be/],
    [["--refill", "daily:5"], /--refill needs --credits/],
    [["--credits", "5", "--refill", "monthly:5:32"], /DAY must be 1-31/],
    [["--meta", "[1]"], /--meta must be a JSON object/],
  ])("keys create refuses %j locally (exit 2, no request)", async (extra, message) => {
    const result = await run(["keys", "create", "--org", "acme", "--label", "x", ...extra], { KEYWARD_TOKEN: USER_TOKEN });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(requests).toHaveLength(0);
  });

  it("keys credits posts the operation, and --json prints the answer", async () => {
    routes["POST /_keyward/v1/orgs/acme/keys/key_1/credits"] = { status: 200, body: view({ credits: { remaining: 7, refill: null, nextRefillAt: null } }) };
    const result = await run(["keys", "credits", "--org", "acme", "--id", "key_1", "--op", "increment", "--value", "2", "--json"], {
      KEYWARD_TOKEN: USER_TOKEN,
    });
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(requests[0].body)).toEqual({ operation: "increment", value: 2 });
    expect(JSON.parse(result.stdout).credits.remaining).toBe(7);
    const missing = await run(["keys", "credits", "--org", "acme", "--id", "key_1", "--op", "decrement"], { KEYWARD_TOKEN: USER_TOKEN });
    expect(missing.code).toBe(2);
  });

  it("keys disable and enable POST to the key, with the operator token when no user token is set", async () => {
    routes["POST /_keyward/v1/orgs/acme/keys/key_1/disable"] = { status: 200, body: view({ status: "disabled" }) };
    routes["POST /_keyward/v1/orgs/acme/keys/key_1/enable"] = { status: 200, body: view() };
    const off = await run(["keys", "disable", "--org", "acme", "--id", "key_1"], { KEYWARD_OPERATOR_TOKEN: OPERATOR });
    expect(off.code, off.stderr).toBe(0);
    expect(off.stdout).toMatch(/^status\s+disabled$/m);
    expect(requests[0].headers.authorization).toBe(`Bearer ${OPERATOR}`);
    const on = await run(["keys", "enable", "--org", "acme", "--id", "key_1"], { KEYWARD_TOKEN: USER_TOKEN });
    expect(on.code).toBe(0);
    expect(requests[1].headers.authorization).toBe(`Bearer ${USER_TOKEN}`);
  });

  it("keys roll POSTs the grace, prints the new secret once with when the old one stops, and --quiet only the secret", async () => {
    const secret = `sk_live_${"a".repeat(40)}`;
    routes["POST /_keyward/v1/orgs/acme/keys/key_1/roll"] = {
      status: 200,
      body: { id: "key_1", key: secret, prefix: "sk_live_aaaaaaaa", previousValidUntil: "2027-01-01T00:00:00.000Z" },
    };
    const rolled = await run(["keys", "roll", "--org", "acme", "--id", "key_1", "--grace", "3600"], { KEYWARD_TOKEN: USER_TOKEN });
    expect(rolled.code, rolled.stderr).toBe(0);
    expect(JSON.parse(requests[0].body)).toEqual({ graceSeconds: 3600 });
    expect(requests[0].headers.authorization).toBe(`Bearer ${USER_TOKEN}`);
    expect(rolled.stdout).toContain(secret);
    expect(rolled.stdout).toContain("The old secret works until");
    expect(rolled.stderr).toContain("only time the new secret is shown");
    const quiet = await run(["keys", "roll", "--org", "acme", "--id", "key_1", "-q"], { KEYWARD_OPERATOR_TOKEN: OPERATOR });
    expect(quiet.code, quiet.stderr).toBe(0);
    expect(quiet.stdout).toBe(`${secret}\n`);
    expect(JSON.parse(requests[1].body)).toEqual({});
    const bad = await run(["keys", "roll", "--org", "acme", "--id", "key_1", "--grace", "-5"], { KEYWARD_TOKEN: USER_TOKEN });
    expect(bad.code).toBe(2);
    expect(requests).toHaveLength(2);
  });

  it("org limit set PUTs and org limit clear DELETEs the org's shared limit with the operator token", async () => {
    routes["PUT /_keyward/v1/orgs/acme/rate-limit"] = { status: 200, body: { limit: 50, windowSeconds: 60, keys: 10 } };
    routes["DELETE /_keyward/v1/orgs/acme/rate-limit"] = { status: 200, body: { limit: null, keys: 10 } };
    const set = await run(["org", "limit", "set", "--org", "acme", "--limit", "50", "--window", "60"], { KEYWARD_OPERATOR_TOKEN: OPERATOR });
    expect(set.code, set.stderr).toBe(0);
    expect(JSON.parse(requests[0].body)).toEqual({ limit: 50, windowSeconds: 60 });
    expect(requests[0].headers.authorization).toBe(`Bearer ${OPERATOR}`);
    expect(set.stdout).toContain("50 requests / 60 s shared by its keys");
    const clear = await run(["org", "limit", "clear", "--org", "acme", "--json"], { KEYWARD_OPERATOR_TOKEN: OPERATOR });
    expect(clear.code).toBe(0);
    expect(requests[1].method).toBe("DELETE");
    expect(JSON.parse(clear.stdout)).toEqual({ limit: null, keys: 10 });
  });

  it("org credits set PUTs the org's credits (with alertBelow) and org credits clear DELETEs them, with the operator token", async () => {
    routes["PUT /_keyward/v1/orgs/acme/credits"] = { status: 200, body: { remaining: 5000, refill: null, nextRefillAt: null, keys: 3 } };
    routes["DELETE /_keyward/v1/orgs/acme/credits"] = { status: 200, body: { remaining: null, keys: 3 } };
    const set = await run(["org", "credits", "set", "--org", "acme", "--remaining", "5000", "--alert-below", "500"], { KEYWARD_OPERATOR_TOKEN: OPERATOR });
    expect(set.code, set.stderr).toBe(0);
    expect(JSON.parse(requests[0].body)).toEqual({ remaining: 5000, alertBelow: 500 });
    expect(requests[0].headers.authorization).toBe(`Bearer ${OPERATOR}`);
    expect(set.stdout).toContain("5000 org credits, spent by every key (3 keys told)");
    const clear = await run(["org", "credits", "clear", "--org", "acme", "--json"], { KEYWARD_OPERATOR_TOKEN: OPERATOR });
    expect(clear.code).toBe(0);
    expect(requests[1].method).toBe("DELETE");
    const bad = await run(["org", "credits", "set", "--org", "acme", "--remaining", "-1"], { KEYWARD_OPERATOR_TOKEN: OPERATOR });
    expect(bad.code).toBe(2);
  });
});
