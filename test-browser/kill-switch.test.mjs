// @ts-check
// The org kill switch in the console (issue 11): behind a confirmation in which
// the admin types the org id; checked against the gateway over HTTP.
import { describe, expect, it } from "vitest";
import { adminApi, listed, openPage, signIn, uniqueOrg, useKeywardAndChromium } from "./support.mjs";

const env = useKeywardAndChromium();
const { call } = env;

describe("the org kill switch", () => {
  it("revokes nothing until the org id is typed exactly, then revokes every matching key, each refused at the gateway", async () => {
    const org = uniqueOrg("kill");
    const token = await env.keyward.adminToken(org);
    const api = adminApi(env.keyward, org, token);
    const made = [];
    for (const [label, environment] of [
      ["web live", "live"],
      ["mobile live", "live"],
      ["ci test", "test"],
    ]) {
      made.push((await api("POST", "/keys", { label, environment })).body);
    }
    const statuses = async () => (await api("GET", "/keys")).body.keys.map((k) => `${k.label}:${k.status}`).sort();

    const { context, page, errors } = await openPage(env.browser);
    page.on("dialog", () => {
      throw new Error("the page used a browser dialog");
    });
    await signIn(page, env.keyward, org, token);
    await page.click("nav#nav a[href='#/kill-switch']");
    await page.waitForSelector("#kill-switch:not([hidden])");
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("kill-switch-title");

    // First only the test environment.
    await page.selectOption("#ks-environment", "test");
    await page.click("#kill-switch-open");
    await page.waitForSelector("dialog#kill-switch-dialog[open]");
    expect(await page.textContent("#kill-switch-what")).toContain("test keys only");
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("kill-switch-confirm");
    for (const wrong of ["", org.toUpperCase(), `${org} `, org.slice(0, -1)]) {
      await page.fill("#kill-switch-confirm", wrong);
      expect(await page.isDisabled("#kill-switch-go")).toBe(true);
      await page.press("#kill-switch-confirm", "Enter");
    }
    expect(await statuses()).toEqual(["ci test:active", "mobile live:active", "web live:active"]);
    await page.fill("#kill-switch-confirm", org);
    expect(await page.isEnabled("#kill-switch-go")).toBe(true);
    await page.click("#kill-switch-go");
    await page.waitForSelector("dialog#kill-switch-dialog", { state: "detached" });
    expect(await page.textContent("#kill-switch-result")).toBe("Revoked 1 key. Each is refused from its next request.");
    expect(await statuses()).toEqual(["ci test:revoked", "mobile live:active", "web live:active"]);
    expect((await call(made[0].key)).status).toBe(200);

    // Then everything: the already revoked one is counted apart.
    await page.selectOption("#ks-environment", "all");
    await page.click("#kill-switch-open");
    await page.fill("#kill-switch-confirm", org);
    await page.click("#kill-switch-go");
    await page.waitForSelector("dialog#kill-switch-dialog", { state: "detached" });
    expect(await page.textContent("#kill-switch-result")).toBe("Revoked 2 keys (1 already revoked). Each is refused from its next request.");
    for (const k of made) {
      const res = await call(k.key);
      expect(res.status).toBe(403);
      expect((await res.json()).code).toBe("KEY_REVOKED");
    }
    // The key list shows the change without a reload.
    await page.click("nav#nav a[href='#/keys']");
    await page.waitForSelector("#empty, #no-match");
    await listed(page, () => page.selectOption("#filter-status", "revoked"));
    expect(await page.locator("#key-rows tr").count()).toBe(3);
    expect(errors).toEqual([]);
    await context.close();
  });

  it("Cancel closes the confirmation and revokes nothing", async () => {
    const org = uniqueOrg("killno");
    const token = await env.keyward.adminToken(org);
    const api = adminApi(env.keyward, org, token);
    const k = (await api("POST", "/keys", { label: "kept" })).body;
    const { context, page } = await openPage(env.browser);
    await signIn(page, env.keyward, org, token);
    await page.goto(`${env.keyward.url}/_keyward/console#/kill-switch`);
    await page.waitForSelector("#kill-switch:not([hidden])");
    await page.click("#kill-switch-open");
    await page.fill("#kill-switch-confirm", org);
    await page.click("#kill-switch-cancel");
    await page.waitForSelector("dialog#kill-switch-dialog", { state: "detached" });
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("kill-switch-open");
    expect((await call(k.key)).status).toBe(200);
    await context.close();
  });
});
