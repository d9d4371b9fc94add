// @ts-check
// The customer portal (issue 22): the operator's backend mints a one-time link,
// the customer's browser opens it and lands in the console signed in, with no
// token pasted; the cookie's flags, its reach, its CSRF defences and sign-out.
import { randomBytes } from "node:crypto";
import { createServer } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminApi, openPage, PHONE, screenshot, uniqueOrg, useKeywardAndChromium } from "./support.mjs";

const OPERATOR = `dev_op_${randomBytes(24).toString("hex")}`;
const env = useKeywardAndChromium({ vars: { KEYWARD_OPERATOR_TOKEN: OPERATOR } });
const { call } = env;

/** What the seller's backend does: mint a link with the operator token. */
async function mintLink(org, body = { role: "org:admin", subject: "ada@customer.example" }) {
  const res = await fetch(`${env.keyward.url}/_keyward/v1/orgs/${org}/portal-sessions`, {
    method: "POST",
    headers: { authorization: `Bearer ${OPERATOR}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(201);
  return res.json();
}

/** Opens a link in a fresh browser context and waits for the signed-in key list. */
async function openLink(url, options) {
  const opened = await openPage(env.browser, options);
  await opened.page.goto(url);
  await opened.page.waitForSelector("#keys:not([hidden])");
  await opened.page.waitForFunction(() => {
    const state = document.querySelector("#list-state");
    return state !== null && !state.hasAttribute("aria-busy") && !state.querySelector(".loading");
  });
  return opened;
}

/** One admin call from Node with a cookie (as a thief holding it would). */
const withCookie = (cookie, path, init = {}) => fetch(`${env.keyward.url}/_keyward/v1${path}`, { ...init, headers: { cookie, ...init.headers } });

// Another site's page: 127.0.0.1 on another port is the same site (ports do not
// count for SameSite), so the Strict cookie is sent: only Keyward's Origin and CSRF checks stand.
let evil;
beforeAll(async () => {
  evil = createServer((req, res) => {
    const target = decodeURIComponent(new URL(req.url ?? "/", "http://x").searchParams.get("target") ?? "");
    res.setHeader("content-type", "text/html");
    res.end(`<!doctype html><form id="f" method="POST" action="${target}" enctype="text/plain"><input name='{"label":"evil","x":"' value='"}'></form>`);
  });
  await new Promise((resolve) => evil.listen(0, "127.0.0.1", resolve));
});
afterAll(() => new Promise((resolve) => evil.close(resolve)));

describe("the customer portal", () => {
  it("opens the org's keys from a minted link with no token pasted, with the cookie's flags, and the link works once", async () => {
    const org = uniqueOrg("portal");
    const api = adminApi(env.keyward, org, await env.keyward.adminToken(org));
    await api("POST", "/keys", { label: "existing key" });
    const link = await mintLink(org, { role: "org:admin", subject: "ada@customer.example", returnUrl: "https://app.seller.example/settings" });

    const { context, page, errors } = await openLink(link.url);
    // The list may render its first page a moment after the list state settles: wait for the row itself.
    await page.waitForSelector("#keys >> text=existing key");
    expect(await page.textContent("#who")).toContain("ada@customer.example");
    expect(await page.inputValue("#token")).toBe("");
    const back = page.locator("#back-to-app");
    expect(await back.isVisible()).toBe(true);
    expect(await back.textContent()).toBe("Back to app.seller.example");
    expect(await back.getAttribute("href")).toBe("https://app.seller.example/settings");
    expect(await page.evaluate(() => sessionStorage.getItem("kw.token"))).toBeNull();

    const cookie = (await context.cookies()).find((c) => c.name === "keyward_session");
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: "Strict", path: "/_keyward/", secure: false });
    expect(cookie.value.startsWith(`${org}.`)).toBe(true);
    expect(cookie.expires * 1000 - Date.now()).toBeGreaterThan(55 * 60_000);
    expect(cookie.expires * 1000 - Date.now()).toBeLessThanOrEqual(60 * 60_000);
    expect(await page.evaluate(() => document.cookie)).not.toContain("keyward_session=");
    await screenshot(page, "portal-signed-in");

    // A reload keeps the session (the cookie, not session storage).
    await page.reload();
    await page.waitForSelector("#keys >> text=existing key");

    // The link works once: a second visit (another browser) gets the page saying so, and no cookie.
    const again = await openPage(env.browser);
    const second = await again.page.goto(link.url);
    expect(second.status()).toBe(410);
    expect(await again.page.textContent("h1")).toBe("This sign-in link has already been used");
    expect((await again.context.cookies()).some((c) => c.name === "keyward_session")).toBe(false);
    await again.context.close();
    expect(errors).toEqual([]);
    await context.close();
  });

  it("reaches its own org only", async () => {
    const org = uniqueOrg("portal-own");
    const other = uniqueOrg("portal-other");
    const { context, page } = await openLink((await mintLink(org)).url);
    const statuses = await page.evaluate(
      async ([mine, theirs]) => {
        const get = async (o) => (await fetch(`/_keyward/v1/orgs/${o}/keys`)).status;
        return [await get(mine), await get(theirs)];
      },
      [org, other],
    );
    expect(statuses).toEqual([200, 404]);
    await context.close();
  });

  it("refuses a cross-site POST with the cookie (403) and creates nothing", async () => {
    const org = uniqueOrg("portal-csrf");
    const api = adminApi(env.keyward, org, await env.keyward.adminToken(org));
    const { context, page } = await openLink((await mintLink(org)).url);
    const target = `${env.keyward.url}/_keyward/v1/orgs/${org}/keys`;
    // A form on another origin, submitted in the signed-in browser.
    const attacker = await context.newPage();
    await attacker.goto(`http://127.0.0.1:${/** @type {import("node:net").AddressInfo} */ (evil.address()).port}/?target=${encodeURIComponent(target)}`);
    const answered = attacker.waitForResponse((r) => r.url() === target);
    await attacker.evaluate(() => /** @type {HTMLFormElement} */ (document.getElementById("f")).submit());
    const res = await answered;
    expect(res.status()).toBe(403);
    expect(res.request().headers().cookie ?? (await res.request().allHeaders()).cookie).toMatch(/keyward_session=/);
    expect((await res.json()).code).toBe("CROSS_SITE_REQUEST");
    // And a script on that origin, with credentials: the browser sends it (a simple request), Keyward refuses it,
    // and the script cannot read the answer (no CORS for cookies): the fetch fails for it.
    await attacker.goto(`http://127.0.0.1:${/** @type {import("node:net").AddressInfo} */ (evil.address()).port}/`);
    const outcome = await attacker.evaluate(
      (url) =>
        fetch(url, { method: "POST", credentials: "include", body: '{"label":"evil"}' }).then(
          (r) => `read ${r.status}`,
          () => "unreadable",
        ),
      target,
    );
    expect(outcome).toBe("unreadable");
    expect((await api("GET", "/keys")).body.keys).toEqual([]);
    // The console's own page, with the same cookie and its CSRF token, may.
    await page.fill("#label", "made in the portal");
    await page.click("#create-submit");
    await page.waitForSelector("dialog#created[open]");
    expect((await api("GET", "/keys")).body.keys.map((k) => `${k.label}:${k.createdBy}`)).toEqual(["made in the portal:portal:ada@customer.example"]);
    await context.close();
  });

  it("signs out on the server: the old cookie is 401 afterwards", async () => {
    const org = uniqueOrg("portal-out");
    const { context, page, errors } = await openLink((await mintLink(org)).url);
    const cookie = (await context.cookies()).find((c) => c.name === "keyward_session");
    const stolen = `keyward_session=${cookie.value}`;
    expect((await withCookie(stolen, `/orgs/${org}/keys`)).status).toBe(200);
    await page.click("#signout");
    await page.waitForSelector("#signin:not([hidden])");
    expect(await page.textContent("#signin-reason")).toBe("You signed out.");
    const after = await withCookie(stolen, `/orgs/${org}/keys`);
    expect(after.status).toBe(401);
    expect((await after.json()).code).toBe("INVALID_SESSION");
    // A reload shows the sign-in card, without a failed call.
    await page.reload();
    await page.waitForSelector("#signin:not([hidden])");
    expect(errors).toEqual([]);
    await context.close();
  });

  it("rolls a key in the console: the new secret is shown once, works at the gateway, and the old one keeps its grace", async () => {
    const org = uniqueOrg("portal-roll");
    const api = adminApi(env.keyward, org, await env.keyward.adminToken(org));
    const made = (await api("POST", "/keys", { label: "to roll" })).body;
    const { context, page, errors } = await openLink((await mintLink(org)).url);
    await page.goto(`${env.keyward.url}/_keyward/console#/keys/${made.id}`);
    await page.click("#detail-roll");
    await page.waitForSelector("dialog#roll-dialog[open]");
    await page.selectOption("#roll-grace", "3600");
    await page.click("#roll-go");
    await page.waitForSelector("dialog#created[open]");
    const secret = await page.textContent("#new-key");
    expect(secret).toMatch(/^sk_live_[0-9a-f]{40}$/);
    expect(secret).not.toBe(made.key);
    await page.click("#done");
    await page.waitForSelector("dialog#created", { state: "detached" });
    expect(await page.content()).not.toContain(secret);
    expect((await call(secret)).status).toBe(200);
    expect((await call(made.key)).status).toBe(200);
    const events = (await api("GET", "/audit")).body.events;
    expect(events.some((e) => e.action === "key.rolled" && e.actor === "portal:ada@customer.example")).toBe(true);
    expect(errors).toEqual([]);
    await context.close();
  });

  it("fits a 390 px phone", async () => {
    const org = uniqueOrg("portal-phone");
    const { context, page } = await openLink((await mintLink(org, { role: "org:admin", subject: "ada", returnUrl: "https://app.seller.example/" })).url, {
      viewport: PHONE,
    });
    const width = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, viewport: window.innerWidth }));
    expect(width.scroll).toBeLessThanOrEqual(width.viewport);
    await screenshot(page, "portal-phone");
    await context.close();
  });
});
