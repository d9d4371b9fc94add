// @ts-check
// Plans (issue 15) in the console: a key's credit balance and refill, and an admin
// suspending and resuming it, checked against the gateway over HTTP.
import { describe, expect, it } from "vitest";
import { adminApi, listed, openPage, signIn, uniqueOrg, useKeywardAndChromium } from "./support.mjs";

const env = useKeywardAndChromium();
const { call } = env;

describe("plans in the console", () => {
  it("shows each key's balance and refill; an admin disables a key (403 KEY_DISABLED at the gateway) and enables it again", async () => {
    const org = uniqueOrg("plan");
    const token = await env.keyward.adminToken(org);
    const api = adminApi(env.keyward, org, token);
    // Keys with credits are a grant of money: the operator (the seller) creates them.
    const seller = adminApi(env.keyward, org, env.keyward.operatorToken);
    const paid = (
      await seller("POST", "/keys", { label: "pro customer", credits: { remaining: 1000, refill: { interval: "monthly", amount: 50000, refillDay: 1 } } })
    ).body;
    await api("POST", "/keys", { label: "unlimited worker" });
    // Two requests spend two credits: the console shows the live balance, not the one at creation.
    expect((await call(paid.key)).status).toBe(200);
    expect((await call(paid.key)).status).toBe(200);

    const { context, page, errors } = await openPage(env.browser);
    await signIn(page, env.keyward, org, token);
    const row = page.locator("#key-rows tr", { hasText: "pro customer" });
    // The list marks metered keys; the live balance is the key's own view (it asks the key's guard).
    expect(await row.locator(".credits").textContent()).toBe("uses credits, refilled monthly");
    expect(await page.locator("#key-rows tr", { hasText: "unlimited worker" }).locator(".credits").count()).toBe(0);

    await row.locator("a").click();
    await page.waitForSelector("#plan-facts");
    expect(await page.textContent("#credit-balance")).toBe("998 credits left");
    expect(await page.textContent("#credit-refill")).toMatch(/^back to 50,000 every month on day 1 \(UTC.*; next .+/);
    expect(await page.textContent("#disabled-state")).toBe("no");

    await page.getByRole("button", { name: "Disable pro customer" }).click();
    await page.waitForSelector("#key-enable");
    await expect.poll(() => page.textContent("#status")).toBe("pro customer is disabled: refused until enabled.");
    expect(await page.locator("#key-facts .status").first().textContent()).toBe("disabled");
    expect(await page.textContent("#disabled-state")).toMatch(/^since .*403 KEY_DISABLED/);
    const refused = await call(paid.key);
    expect(refused.status).toBe(403);
    expect((await refused.json()).code).toBe("KEY_DISABLED");

    // Back in the list the key carries the disabled badge (under the "disabled" filter).
    await page.click("#back-to-keys");
    await page.waitForSelector("#key-rows");
    await listed(page, () => page.selectOption("#filter-status", "disabled"));
    expect(await page.locator("#key-rows tr", { hasText: "pro customer" }).locator(".status-disabled").textContent()).toBe("disabled");

    await page.locator("#key-rows tr", { hasText: "pro customer" }).locator("a").click();
    await page.getByRole("button", { name: "Enable pro customer" }).click();
    await page.waitForSelector("#key-disable");
    await expect.poll(() => page.textContent("#status")).toBe("pro customer is enabled again.");
    expect(await page.locator("#key-facts .status").first().textContent()).toBe("active");
    // Comes back unchanged: the same balance, one more request spends one more credit.
    expect(await page.textContent("#credit-balance")).toBe("998 credits left");
    expect((await call(paid.key)).status).toBe(200);
    expect((await api("GET", `/keys/${paid.id}`)).body.credits.remaining).toBe(997);

    // Both changes are audited in the admin's name.
    const actions = (await api("GET", "/audit")).body.events.filter((e) => e.keyId === paid.id).map((e) => `${e.action} ${e.actor}`);
    expect(actions).toEqual(expect.arrayContaining(["key.disabled user:browser-admin", "key.enabled user:browser-admin"]));
    expect(errors).toEqual([]);
    await context.close();
  });

  it("offers no Disable or Enable on a revoked key", async () => {
    const org = uniqueOrg("planrev");
    const token = await env.keyward.adminToken(org);
    const api = adminApi(env.keyward, org, token);
    // Keys with credits are a grant of money: the operator (the seller) creates them.
    const seller = adminApi(env.keyward, org, env.keyward.operatorToken);
    const k = (await seller("POST", "/keys", { label: "gone", credits: { remaining: 3 } })).body;
    await api("POST", `/keys/${k.id}/revoke`, {});
    const { context, page } = await openPage(env.browser);
    await signIn(page, env.keyward, org, token);
    await page.goto(`${env.keyward.url}/_keyward/console#/keys/${k.id}`);
    await page.waitForSelector("#plan-facts");
    expect(await page.textContent("#credit-balance")).toBe("3 credits left");
    expect(await page.textContent("#credit-refill")).toBe("never (credits are not refilled)");
    expect(await page.locator("#key-disable, #key-enable").count()).toBe(0);
    await context.close();
  });
});
