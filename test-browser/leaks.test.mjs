// @ts-check
// Incident response (issue 11) on a key in the console: allowed IPs at creation
// and in the key's view, and the "leaked" badge with the report's URL.
import { describe, expect, it } from "vitest";
import { adminApi, listed, openPage, overflow, PHONE, screenshot, signIn, uniqueOrg, useKeywardAndChromium, WIDE } from "./support.mjs";

const env = useKeywardAndChromium();
const { call } = env;

describe("allowed IPs", () => {
  it("creates a key with an allow-list from the form, shows it in the key's view, and the gateway enforces it", async () => {
    const org = uniqueOrg("ips");
    const token = await env.keyward.adminToken(org);
    const { context, page, errors } = await openPage(env.browser, { clipboard: true });
    await signIn(page, env.keyward, org, token);

    // A bad entry: the server's 400 names the field and the page puts the focus on it.
    await page.fill("#label", "office only");
    await page.click("#create-form summary");
    await page.fill("#allowed-ips", "203.0.113.0/24 not-an-address");
    await page.click("#create-submit");
    await page.waitForSelector("#problem:not([hidden])");
    expect(await page.textContent("#problem")).toMatch(/INVALID_REQUEST: allowedIps/);
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("allowed-ips");
    expect(await page.getAttribute("#allowed-ips", "aria-invalid")).toBe("true");
    expect((await adminApi(env.keyward, org, token)("GET", "/keys")).body.keys).toHaveLength(0);

    await page.fill("#allowed-ips", "203.0.113.9/24, 2001:db8::1");
    await page.click("#create-submit");
    await page.waitForSelector("dialog#created[open]");
    const key = await page.textContent("#new-key");
    await page.click("#done");
    await page.locator("#key-rows tr", { hasText: "office only" }).locator("a").click();
    await page.waitForSelector("#incident-facts");
    // Stored normalised, as the server keeps them.
    expect(await page.textContent("#allowed-ips-list")).toBe("203.0.113.0/24 2001:db8::1/128");
    const refused = await call(key, { "x-forwarded-for": "203.0.113.7" });
    expect(refused.status).toBe(403);
    expect((await refused.json()).code).toBe("IP_NOT_ALLOWED");

    // A key made without the field takes any address, and says so.
    await page.click("#back-to-keys");
    await page.fill("#label", "anywhere");
    await page.click("#create-submit");
    await page.waitForSelector("dialog#created[open]");
    await page.click("#done");
    await page.locator("#key-rows tr", { hasText: "anywhere" }).locator("a").click();
    await page.waitForSelector("#incident-facts");
    expect(await page.textContent("#incident-facts")).toContain("any address");
    // Only the refused create's 400, which Chromium logs itself.
    expect(errors.filter((e) => !e.includes("status of 400"))).toEqual([]);
    await context.close();
  });
});

describe("leaked keys", () => {
  it.each([
    ["1280", WIDE],
    ["390", PHONE],
  ])("shows the leaked badge and the report's URL next to the key's credits (%s px)", async (width, viewport) => {
    const org = uniqueOrg(`leak${width}`);
    const token = await env.keyward.adminToken(org);
    const api = adminApi(env.keyward, org, token);
    // Keys with credits are a grant of money: the operator (the seller) creates them.
    const seller = adminApi(env.keyward, org, env.keyward.operatorToken);
    const leaked = (
      await seller("POST", "/keys", {
        label: "mobile app build",
        credits: { remaining: 25000, refill: { interval: "monthly", amount: 25000, refillDay: 31 } },
        allowedIps: ["198.51.100.0/24"],
      })
    ).body;
    await seller("POST", "/keys", { label: "billing worker", credits: { remaining: 500, refill: { interval: "daily", amount: 500 } } });
    const url = "https://gist.github.com/someone/0123456789abcdef#file-config-js-L3";
    const report = await fetch(`${env.keyward.url}/_keyward/v1/leaks`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ key: leaked.key, url }),
    });
    expect(report.status).toBe(202);
    // The report is handled after the answer (waitUntil): wait for the key to be marked.
    await expect.poll(async () => (await api("GET", `/keys/${leaked.id}`)).body.leaked?.url, { timeout: 15_000 }).toBe(url);
    expect((await call(leaked.key)).status).toBe(403);

    const { context, page, errors } = await openPage(env.browser, { viewport });
    await signIn(page, env.keyward, org, token);
    await listed(page, () => page.selectOption("#filter-status", "all"));
    const row = page.locator("#key-rows tr", { hasText: "mobile app build" });
    expect(await row.locator(".status-leaked").textContent()).toBe("leaked");
    expect(await row.locator(".status-leaked").getAttribute("title")).toBe(url);
    expect(await page.locator("#key-rows tr", { hasText: "billing worker" }).locator(".status-leaked").count()).toBe(0);

    await row.locator("a").click();
    await page.waitForSelector("#incident-facts");
    const facts = await page.textContent("#incident-facts");
    expect(facts).toMatch(/leaked reported .* by a report to \/_keyward\/v1\/leaks/);
    const link = page.locator("#incident-facts a.leak-url");
    expect(await link.getAttribute("href")).toBe(url);
    expect(await link.getAttribute("rel")).toBe("noopener noreferrer nofollow");
    expect(await page.textContent("#allowed-ips-list")).toBe("198.51.100.0/24");
    expect(await page.textContent("#credit-balance")).toBe("25,000 credits left");
    expect(await page.textContent("#credit-refill")).toMatch(/every month on day 31/);
    expect(await page.locator("#key-facts .status").first().textContent()).toBe("revoked");
    const { scroll, viewport: w } = await overflow(page);
    expect(scroll).toBeLessThanOrEqual(w);
    expect(await page.textContent("#recent-events")).toContain(`Reported leaked by a report to /_keyward/v1/leaks (anyone holding the key), found at ${url}`);
    await screenshot(page, `leaked-detail-${width}`);
    expect(errors).toEqual([]);
    await context.close();
  });
});
