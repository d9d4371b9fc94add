// @ts-check
// The admin API called from a seller's dashboard on another origin, in Chromium:
// allowed for the origin listed in ADMIN_CORS_ORIGINS, refused for any other.
import { randomBytes } from "node:crypto";
import { createServer } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../test-support/wrangler-dev.mjs";
import { openPage, uniqueOrg, useKeywardAndChromium } from "./support.mjs";

/** A page server standing for a dashboard (any origin: scheme, host and port). */
function pageServer(port) {
  const server = createServer((_req, res) => {
    res.writeHead(200, { "content-type": "text/html" });
    res.end("<!doctype html><title>dashboard</title><p>dashboard</p>");
  });
  return new Promise((resolve) => server.listen(port, "127.0.0.1", () => resolve(server)));
}

const dashboardPort = await freePort();
const otherPort = await freePort();
const DASHBOARD = `http://127.0.0.1:${dashboardPort}`;
const OTHER = `http://127.0.0.1:${otherPort}`;
const OPERATOR = `dev_op_${randomBytes(24).toString("hex")}`;
const env = useKeywardAndChromium({ vars: { ADMIN_CORS_ORIGINS: DASHBOARD, KEYWARD_OPERATOR_TOKEN: OPERATOR } });
let servers = [];
beforeAll(async () => {
  servers = [await pageServer(dashboardPort), await pageServer(otherPort)];
});
afterAll(() => {
  for (const server of servers) server.close();
});

/** Runs the admin calls a dashboard makes, from a page of `pageOrigin`; returns what its script saw. */
async function callFrom(pageOrigin, org, token) {
  const { context, page } = await openPage(env.browser);
  await page.goto(`${pageOrigin}/`);
  const seen = await page.evaluate(
    async ({ base, org, token }) => {
      const attempt = async (init) => {
        try {
          const res = await fetch(`${base}/_keyward/v1/orgs/${org}/keys`, init);
          return { status: res.status, body: await res.json(), requestId: res.headers.get("x-keyward-request-id") };
        } catch (error) {
          return { failed: String(error) };
        }
      };
      return {
        unauthenticated: await attempt({}),
        list: await attempt({ headers: { authorization: `Bearer ${token}` } }),
        create: await attempt({
          method: "POST",
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
          body: JSON.stringify({ label: "from the dashboard" }),
        }),
      };
    },
    { base: env.keyward.url, org, token },
  );
  await context.close();
  return seen;
}

describe("admin API CORS in Chromium", () => {
  // Authorization and a JSON body make each call preflighted: an answer means the preflight passed.
  it("lets the listed dashboard list and create keys with a bearer token (preflight included)", async () => {
    const org = uniqueOrg("cors");
    const seen = await callFrom(DASHBOARD, org, await env.keyward.adminToken(org));
    expect(seen.list).toMatchObject({ status: 200, body: { keys: [] } });
    // Errors are readable too, their request id included (an exposed header).
    expect(seen.unauthenticated).toMatchObject({ status: 401, body: { code: "MISSING_AUTH_HEADER" } });
    expect(seen.unauthenticated.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(seen.create).toMatchObject({ status: 201, body: { label: "from the dashboard" } });
  });

  it("refuses a page of any other origin: the browser blocks the call, and nothing is created", async () => {
    const org = uniqueOrg("cors");
    const token = await env.keyward.adminToken(org);
    const seen = await callFrom(OTHER, org, token);
    expect(seen.unauthenticated.failed).toMatch(/Failed to fetch/);
    expect(seen.list.failed).toMatch(/Failed to fetch/);
    expect(seen.create.failed).toMatch(/Failed to fetch/);
    // The preflight was refused, so the POST never left the browser.
    const res = await fetch(`${env.keyward.url}/_keyward/v1/orgs/${org}/keys`, { headers: { authorization: `Bearer ${token}` } });
    expect((await res.json()).keys).toEqual([]);
  });

  it("never lets the listed dashboard ride a console cookie session: credentialed calls fail in the browser", async () => {
    const org = uniqueOrg("cors");
    const minted = await fetch(`${env.keyward.url}/_keyward/v1/orgs/${org}/portal-sessions`, {
      method: "POST",
      headers: { authorization: `Bearer ${OPERATOR}`, "content-type": "application/json" },
      body: JSON.stringify({ role: "org:admin", subject: "ada@customer.example" }),
    });
    expect(minted.status).toBe(201);
    const { context, page } = await openPage(env.browser);
    // Signed in to the console: this browser now holds the session cookie.
    await page.goto((await minted.json()).url);
    await page.waitForSelector("#keys:not([hidden])");
    expect((await context.cookies()).some((c) => c.name === "keyward_session")).toBe(true);
    await page.goto(`${DASHBOARD}/`);
    const seen = await page.evaluate(
      async ({ base, org }) => {
        const attempt = async (init) => {
          try {
            const res = await fetch(`${base}/_keyward/v1/orgs/${org}/keys`, { credentials: "include", ...init });
            return { status: res.status };
          } catch (error) {
            return { failed: String(error) };
          }
        };
        return {
          list: await attempt({}),
          create: await attempt({ method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ label: "rode the cookie" }) }),
        };
      },
      { base: env.keyward.url, org },
    );
    await context.close();
    // No Access-Control-Allow-Credentials: the browser shows the page nothing, and never sends the POST.
    expect(seen.list.failed).toMatch(/Failed to fetch/);
    expect(seen.create.failed).toMatch(/Failed to fetch/);
    const res = await fetch(`${env.keyward.url}/_keyward/v1/orgs/${org}/keys`, { headers: { authorization: `Bearer ${await env.keyward.adminToken(org)}` } });
    expect((await res.json()).keys).toEqual([]);
  });
});
