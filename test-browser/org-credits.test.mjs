// @ts-check
// Org credits in the console (issue 20): the operator, signed in with the
// operator token, sets an org's credits with an alert threshold, sees them, and
// the gateway spends from them; then removes them. Org admins get no such panel.
import { describe, expect, it } from "vitest";
import { adminApi, openPage, signIn, uniqueOrg, useKeywardAndChromium } from "./support.mjs";

const env = useKeywardAndChromium();

describe("org credits in the console", () => {
  it("the operator sets an org's credits (balance, refill, alertBelow), sees them live, and removes them", async () => {
    const org = uniqueOrg("orgcred");
    const operator = adminApi(env.keyward, org, env.keyward.operatorToken);
    const key = (await operator("POST", "/keys", { label: "spender" })).body.key;

    const { context, page, errors } = await openPage(env.browser);
    await signIn(page, env.keyward, org, env.keyward.operatorToken);
    await page.click('#nav a[href="#/credits"]');
    await page.waitForSelector("#org-credits-none");

    await page.fill("#org-credits-remaining", "500");
    await page.selectOption("#org-credits-interval", "daily");
    await page.fill("#org-credits-amount", "1000");
    await page.fill("#org-credits-alert", "100");
    await page.click("#org-credits-save");
    await expect.poll(() => page.textContent("#status")).toBe("Org credits set: 500 left.");
    expect(await page.textContent("#org-credits-state")).toMatch(/^500 left; back to 1,000 every day \(UTC\), next .+; credits.low below 100$/);
    // The API holds what the console set, and the gateway spends from it.
    expect((await operator("GET", "/credits")).body).toMatchObject({ remaining: 500, alertBelow: 100, refill: { interval: "daily", amount: 1000 } });
    expect((await env.call(key)).status).toBe(200);

    // Shown again from the server, live: one request spent one credit.
    await page.click('#nav a[href="#/keys"]');
    await page.click('#nav a[href="#/credits"]');
    await expect.poll(() => page.textContent("#org-credits-state")).toMatch(/^499 left;/);

    await page.click("#org-credits-clear");
    await page.waitForSelector("#org-credits-none");
    expect((await operator("GET", "/credits")).status).toBe(404);
    // "No org credits" is GET's 404, which the browser logs as a failed load.
    expect(errors.filter((e) => !/status of 404/.test(e))).toEqual([]);
    await context.close();
  });

  it("is not offered to an org admin", async () => {
    const org = uniqueOrg("orgcredadm");
    const { context, page } = await openPage(env.browser);
    await signIn(page, env.keyward, org);
    expect(await page.locator('#nav a[href="#/credits"]').count()).toBe(0);
    await context.close();
  });
});
