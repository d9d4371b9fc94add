// @ts-check
// Shared pieces of the console's browser tests: one Chromium, pages that record
// their console errors, sign-in, and screenshots for review.
import { copyFileSync, mkdirSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { afterAll, beforeAll } from "vitest";
import { startKeyward } from "../test-support/keyward-dev.mjs";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const RESULTS = join(ROOT, "test-results", "console");

export const WIDE = { width: 1280, height: 860 };
export const PHONE = { width: 390, height: 844 };

/** Debian's Chromium (apt-get install chromium), or CHROMIUM_PATH. */
export function launchChromium() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
}

/**
 * One `wrangler dev` Keyward and one Chromium for a test file: started before its
 * tests, stopped after them. Call at the top of the file; the handles are set
 * once the tests run. `vars` are extra Worker variables (e.g. an operator token).
 */
/** @param {{ vars?: Record<string, string> }} [options] */
export function useKeywardAndChromium({ vars } = {}) {
  const env = {
    /** @type {Awaited<ReturnType<typeof startKeyward>>} */
    keyward: /** @type {never} */ (undefined),
    /** @type {import("playwright-core").Browser} */
    browser: /** @type {never} */ (undefined),
    /** One gateway request with this key (see gatewayCall). */
    call: (key, headers = {}, path = "/v1/hello") => gatewayCall(env.keyward, key, headers, path),
  };
  beforeAll(async () => {
    env.keyward = await startKeyward(vars ? { vars } : {});
    env.browser = await launchChromium();
  });
  afterAll(async () => {
    await env.browser?.close();
    await env.keyward?.stop();
  });
  return env;
}

/**
 * One gateway request through node:http, which sends only the headers given, as
 * a server-side client would (Node's fetch adds Sec-Fetch-Mode: cors to every request).
 */
export function gatewayCall(keyward, key, headers = {}, path = "/v1/hello") {
  return new Promise((resolve, reject) => {
    const req = request(`${keyward.url}${path}`, { headers: { authorization: `Bearer ${key}`, ...headers } }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk) => {
        text += chunk;
      });
      res.on("end", () => resolve({ status: res.statusCode, text, json: async () => JSON.parse(text) }));
    });
    req.on("error", reject);
    req.end();
  });
}

/** A fresh context and page; `errors` collects console errors and uncaught exceptions. */
export async function openPage(browser, { viewport = WIDE, clipboard = false } = {}) {
  const context = await browser.newContext({ viewport, ...(clipboard ? { permissions: ["clipboard-read", "clipboard-write"] } : {}) });
  const page = await context.newPage();
  const errors = [];
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  page.on("pageerror", (e) => errors.push(`uncaught: ${e.message}`));
  return { context, page, errors };
}

export const uniqueOrg = (tag) => `org_${tag}_${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;

/** Fills the sign-in card and submits it (no waiting). */
export async function submitSignIn(page, org, token) {
  await page.fill("#org", org);
  await page.fill("#token", token);
  await page.click("#signin-submit");
}

/** Opens the console and signs in; resolves once the key list has loaded. */
export async function signIn(page, keyward, org, token) {
  await page.goto(`${keyward.url}/_keyward/console`);
  await submitSignIn(page, org, token ?? (await keyward.adminToken(org)));
  await page.waitForSelector("#keys:not([hidden])");
  await page.waitForFunction(() => {
    const state = document.querySelector("#list-state");
    return state !== null && !state.hasAttribute("aria-busy") && !state.querySelector(".loading");
  });
}

/**
 * Runs `action` (a search, a filter, a page size, Next or Previous) and waits for
 * the key list to show the server's answer: the listing request it caused has
 * answered and the list is no longer busy.
 */
export async function listed(page, action) {
  // The first listing request made from now on (an older one still in flight does not count).
  const asked = page.waitForRequest((r) => r.method() === "GET" && /\/_keyward\/v1\/orgs\/[^/]+\/keys\?/.test(r.url()));
  await action();
  await (await asked).response();
  await page.waitForFunction(() => {
    const state = document.querySelector("#list-state");
    return state !== null && !state.hasAttribute("aria-busy");
  });
}

/** The admin API from the test itself (to set up state and to check what the page did). */
export function adminApi(keyward, org, token) {
  return async (method, path, body) => {
    const res = await fetch(`${keyward.url}/_keyward/v1/orgs/${org}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: await res.json() };
  };
}

/**
 * Writes a screenshot to test-results/console/NAME.png for review; with
 * KEYWARD_SCREENSHOTS=docs (npm run screenshots) also to docs/console/, which README shows.
 */
export async function screenshot(page, name) {
  mkdirSync(RESULTS, { recursive: true });
  const path = join(RESULTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  if (process.env.KEYWARD_SCREENSHOTS === "docs") {
    mkdirSync(join(ROOT, "docs", "console"), { recursive: true });
    copyFileSync(path, join(ROOT, "docs", "console", `${name}.png`));
  }
}

/** Page width against the viewport: anything wider means horizontal scrolling. */
export const overflow = (page) => page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, viewport: window.innerWidth }));
