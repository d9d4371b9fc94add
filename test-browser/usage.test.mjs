// @ts-check
// Usage monitoring in the console, in a real Chromium against `wrangler dev`: after
// scripted traffic through the gateway, a key's detail shows its usage and the
// anomaly its guard reported, the Usage view charts the org, and an admin
// acknowledges the anomaly there.
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { adminApi, openPage, overflow, PHONE, screenshot, signIn, uniqueOrg, useKeywardAndChromium, WIDE } from "./support.mjs";

const OPERATOR = `dev_op_${randomBytes(24).toString("hex")}`;
const env = useKeywardAndChromium({ vars: { KEYWARD_OPERATOR_TOKEN: OPERATOR } });
const { call } = env;

describe("usage and anomalies in the console", () => {
  it("shows a key's usage and its browser_use anomaly after real traffic, charts the org, and lets an admin acknowledge it", async () => {
    const org = uniqueOrg("usage");
    const admin = adminApi(env.keyward, org, await env.keyward.adminToken(org));
    const created = await admin("POST", "/keys", { label: "storefront" });
    expect(created.status).toBe(201);
    const { id, key } = created.body;
    const limit = await adminApi(env.keyward, org, OPERATOR)("PUT", `/keys/${id}/rate-limit`, { limit: 5, windowSeconds: 60 });
    expect(limit.status).toBe(200);

    // 4 server-side calls, 1 from a web page (Origin + Sec-Fetch-Mode), then 3 over the limit.
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await call(key)).status);
    statuses.push((await call(key, { origin: "https://example.com", "sec-fetch-mode": "cors" })).status);
    for (let i = 0; i < 3; i++) statuses.push((await call(key)).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429, 429]);
    const trafficAt = Date.now();

    const { context, page, errors } = await openPage(env.browser);
    await signIn(page, env.keyward, org);
    await page.goto(`${env.keyward.url}/_keyward/console#/keys/${id}`);
    await page.waitForSelector("#usage-facts");
    // The last 60 minutes come fresh from the key's guard: no waiting for a report.
    expect(await page.textContent("#usage-hour")).toBe("5 admitted, 3 refused (3 RATE_LIMITED)");
    expect(await page.textContent("#usage-last-used")).not.toBe("never");
    expect(await page.getAttribute("#usage-24h svg", "aria-label")).toBe("Last 24 hours, per hour: 5 admitted, 3 refused");
    expect(await page.locator("#usage-24h polyline").count()).toBe(2);

    // The anomaly comes with the guard's report (its alarm, ~5 s after the traffic): refresh until it shows.
    const flag = page.locator('#key-anomaly-list li[data-type="browser_use"]');
    while ((await flag.count()) === 0) {
      expect(Date.now() - trafficAt).toBeLessThan(90_000);
      await page.waitForTimeout(1_000);
      await page.click("#usage-refresh");
      await page.waitForSelector("#usage-refresh:not([disabled])");
    }
    // One request of the eight came from a web page.
    expect(await flag.locator(".anomaly-message").textContent()).toMatch(/sent from a web browser 1 time/);
    expect(await flag.locator(".status-anomaly").textContent()).toBe("used from a browser");
    // The status line of the key carries the badge too.
    await expect.poll(() => page.locator("#key-facts .status-anomaly").count()).toBe(1);
    await page.waitForSelector("#usage-refresh:not([disabled])");
    await screenshot(page, "usage-detail-1280");
    await page.setViewportSize(PHONE);
    expect((await overflow(page)).scroll).toBeLessThanOrEqual(PHONE.width);
    await screenshot(page, "usage-detail-390");
    await page.setViewportSize(WIDE);

    // The Usage view: the org's chart (admitted vs refused per hour) and the anomaly list.
    await page.click('#nav a[href="#/usage"]');
    await page.waitForSelector("#anomaly-list, #no-anomalies");
    await expect.poll(() => page.textContent("#org-usage-totals")).toMatch(/5 admitted\s+3 refused/);
    expect(await page.locator("#org-usage svg.chart rect.bar-refused").count()).toBe(24);
    expect(await page.textContent("#top-keys")).toContain("storefront");
    const item = page.locator('#anomaly-list li[data-type="browser_use"]');
    expect(await item.count()).toBe(1);
    expect(await item.locator(".key-link").textContent()).toContain("storefront");
    await screenshot(page, "anomalies-1280");
    await page.setViewportSize(PHONE);
    expect((await overflow(page)).scroll).toBeLessThanOrEqual(PHONE.width);
    await screenshot(page, "anomalies-390");
    await page.setViewportSize(WIDE);

    // The key list shows the badge next to the key's status.
    await page.click('#nav a[href="#/keys"]');
    await expect.poll(() => page.locator("#key-rows tr", { hasText: "storefront" }).locator(".status-anomaly").count()).toBe(1);

    // An admin acknowledges it: gone from the open list, recorded with who did it, audited.
    await page.click('#nav a[href="#/usage"]');
    await page.waitForSelector('#anomaly-list li[data-type="browser_use"]');
    await page.getByRole("button", { name: /^Acknowledge\W+used from a browser\W*$/ }).click();
    await page.waitForSelector("#no-anomalies");
    expect(await page.textContent("#status")).toMatch(/^Acknowledged: /);
    const acknowledged = await admin("GET", "/anomalies?status=acknowledged");
    expect(acknowledged.body.anomalies.map((a) => [a.keyId, a.type, a.acknowledgedBy])).toEqual([[id, "browser_use", "user:browser-admin"]]);
    expect((await admin("GET", "/audit")).body.events.some((e) => e.action === "anomaly.acknowledged")).toBe(true);
    await page.selectOption("#anomaly-status", "acknowledged");
    await page.waitForSelector('#anomaly-list li[data-type="browser_use"]');
    expect(await page.textContent("#anomaly-list")).toMatch(/Acknowledged .* by browser-admin/);
    expect(await page.locator("#anomaly-list button.ack").count()).toBe(0);
    // No console error: in particular no CSP violation from the charts.
    expect(errors).toEqual([]);
    await context.close();
  }, 150_000);

  it("tells a member whose acknowledgement the API refuses why, and leaves the flag open", async () => {
    const org = uniqueOrg("usagemember");
    const admin = adminApi(env.keyward, org, await env.keyward.adminToken(org));
    const created = await admin("POST", "/keys", { label: "widget" });
    expect((await call(created.body.key, { origin: "https://example.com", "sec-fetch-mode": "cors" })).status).toBe(200);
    const started = Date.now();
    let flag;
    while (!flag) {
      expect(Date.now() - started).toBeLessThan(90_000);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      flag = (await admin("GET", "/anomalies")).body.anomalies.find((a) => a.keyId === created.body.id && a.type === "browser_use");
    }

    const { context, page, errors } = await openPage(env.browser);
    await signIn(page, env.keyward, org);
    // The page is an admin's, but the acknowledgement goes out with a member's token:
    // what a member (or an admin demoted since sign-in) gets from the API.
    const member = await env.keyward.adminToken(org, "org:member", { subject: "a-member" });
    await page.route("**/acknowledge", (route) => route.continue({ headers: { ...route.request().headers(), authorization: `Bearer ${member}` } }));
    await page.click('#nav a[href="#/usage"]');
    await page.waitForSelector('#anomaly-list li[data-type="browser_use"]');
    await page.getByRole("button", { name: /^Acknowledge\W+used from a browser\W*$/ }).click();
    await page.waitForSelector("#problem:not([hidden])");
    expect(await page.textContent("#problem")).toMatch(/INSUFFICIENT_PERMISSIONS: .*org:admin role/);
    expect(await page.isDisabled("#anomaly-list button.ack")).toBe(false);
    expect((await admin("GET", "/anomalies")).body.anomalies.map((a) => a.id)).toContain(flag.id);
    // The refusal is the page's only console line (the failed request), nothing else.
    expect(errors.filter((e) => !/403/.test(e))).toEqual([]);
    await context.close();
  }, 150_000);
});
