// Shared pieces of the console's browser tests: one Chromium, pages that record
// their console errors, sign-in, and screenshots for review.
import { copyFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

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
