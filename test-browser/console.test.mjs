// Settings → API Keys, as an org admin uses it, in a real Chromium.
import { mkdirSync } from "node:fs";
import { chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startKeyward } from "../test-support/keyward-dev.mjs";

let keyward;
let browser;

beforeAll(async () => {
  keyward = await startKeyward();
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
});

afterAll(async () => {
  await browser?.close();
  await keyward?.stop();
});

describe("the API keys page", () => {
  it("creates a key shown once in a modal, lists it, and revokes it; the key then fails at the gateway", async () => {
    const org = `org_${Date.now()}`;
    const context = await browser.newContext({ permissions: ["clipboard-read", "clipboard-write"] });
    const page = await context.newPage();
    const consoleErrors = [];
    page.on("console", (m) => m.type() === "error" && consoleErrors.push(m.text()));

    await page.goto(`${keyward.url}/_keyward/console`);
    await page.fill("#org", org);
    await page.fill("#token", await keyward.adminToken(org));
    await page.click("#signin-form button[type=submit]");
    await expect.poll(() => page.isVisible("#empty")).toBe(true);

    await page.fill("#label", "browser test key");
    await page.click("#create-form button[type=submit]");
    await page.waitForSelector("dialog#created[open]");
    const key = await page.textContent("#new-key");
    expect(key).toMatch(/^sk_live_[0-9a-f]{40}$/);
    await page.click("#copy");
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(key);
    mkdirSync("test-results", { recursive: true });
    await page.screenshot({ path: "test-results/console-created.png" });
    await page.click("#done");
    await expect.poll(() => page.textContent("#new-key")).toBe("");
    expect(await page.content()).not.toContain(key);

    const row = page.locator("#key-rows tr", { hasText: "browser test key" });
    await expect.poll(() => row.locator(".status").textContent()).toBe("active");
    expect(await row.textContent()).toContain(key.slice(0, 16));

    const proxied = await fetch(`${keyward.url}/v1/hello`, { headers: { authorization: `Bearer ${key}` } });
    expect(proxied.status).toBe(200);

    page.once("dialog", (d) => d.accept());
    await row.locator("button", { hasText: "Revoke" }).click();
    await expect.poll(() => row.locator(".status").textContent()).toBe("revoked");
    await page.screenshot({ path: "test-results/console-revoked.png" });

    const refused = await fetch(`${keyward.url}/v1/hello`, { headers: { authorization: `Bearer ${key}` } });
    expect(refused.status).toBe(403);
    expect((await refused.json()).code).toBe("KEY_REVOKED");
    expect(consoleErrors).toEqual([]);
    await context.close();
  });

  it("shows the server's error to an org member instead of the keys", async () => {
    const org = `org_m${Date.now()}`;
    const page = await browser.newPage();
    await page.goto(`${keyward.url}/_keyward/console`);
    await page.fill("#org", org);
    await page.fill("#token", await keyward.adminToken(org, "org:member"));
    await page.click("#signin-form button[type=submit]");
    await expect.poll(() => page.textContent("#error")).toMatch(/INSUFFICIENT_PERMISSIONS/);
    await page.close();
  });
});
