// @ts-check
// Webhook settings in the console (issue 11): set the receiver and its events, the
// whsec_ secret shown once (and verifying real deliveries), deliveries, removal.
import { createServer } from "node:http";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminApi, openPage, overflow, PHONE, screenshot, signIn, uniqueOrg, useKeywardAndChromium, WIDE } from "./support.mjs";

const env = useKeywardAndChromium();
let receiver;
const received = [];

beforeAll(async () => {
  receiver = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => {
      body += chunk;
    });
    req.on("end", () => {
      received.push({ headers: req.headers, body });
      res.writeHead(204).end();
    });
  });
  await new Promise((resolve) => receiver.listen(0, "127.0.0.1", resolve));
});

afterAll(() => {
  receiver?.close();
});

const receiverUrl = () => `http://127.0.0.1:${receiver.address().port}/keyward-events`;

describe("webhook settings", () => {
  it.each([
    ["1280", WIDE],
    ["390", PHONE],
  ])("sets the receiver and events, shows the secret once, lists deliveries that verify with it, and removes the webhook (%s px)", async (width, viewport) => {
    const org = uniqueOrg(`hook${width}`);
    const token = await env.keyward.adminToken(org);
    const api = adminApi(env.keyward, org, token);
    const { context, page, errors } = await openPage(env.browser, { viewport, clipboard: true });
    page.on("dialog", () => {
      throw new Error("the page used a browser dialog");
    });
    await signIn(page, env.keyward, org, token);
    await page.click("nav#nav a[href='#/webhook']");
    await page.waitForSelector("#webhook-none");

    // A URL the server refuses: its 400 names the field, which gets the focus.
    await page.fill("#webhook-url", "ftp://127.0.0.1/x");
    await page.click("#webhook-save");
    await page.waitForSelector("#problem:not([hidden])");
    expect(await page.textContent("#problem")).toMatch(/^INVALID_REQUEST: url: /);
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("webhook-url");

    await page.fill("#webhook-url", receiverUrl());
    await page.uncheck("#webhook-events input[value='usage.anomaly']");
    await page.uncheck("#webhook-events input[value='key.expiring']");
    await page.click("#webhook-save");
    await page.waitForSelector("dialog#webhook-secret-dialog[open]");
    const secret = await page.textContent("#webhook-secret");
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/=]+$/);
    await page.click("#webhook-copy");
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secret);
    await page.click("#webhook-done");
    await page.waitForSelector("dialog#webhook-secret-dialog", { state: "detached" });
    // Gone from the page, and the API shows the webhook without it.
    expect(await page.content()).not.toContain(secret);
    await page.waitForSelector("#webhook-facts");
    expect(await page.textContent("#webhook-current-url")).toBe(receiverUrl());
    expect(await page.textContent("#webhook-current-events")).toBe("key.created, key.revoked, key.leaked, key.rolled, credits.low, credits.exhausted");
    const stored = await api("GET", "/webhook");
    expect(stored.body).toEqual({
      url: receiverUrl(),
      events: ["key.created", "key.revoked", "key.leaked", "key.rolled", "credits.low", "credits.exhausted"],
      createdAt: expect.any(String),
    });

    // A key event reaches the receiver, signed with the secret the page showed.
    const key = (await api("POST", "/keys", { label: "watched" })).body;
    const mine = () => received.filter((r) => r.body.includes(org));
    await expect.poll(() => mine().length, { timeout: 30_000, interval: 200 }).toBeGreaterThanOrEqual(1);
    const event = new Webhook(secret).verify(mine()[0].body, mine()[0].headers);
    expect(event).toMatchObject({ type: "key.created", data: { org, keyId: key.id } });
    // Reopen the view: the delivery is listed with its status and attempts.
    await page.click("nav#nav a[href='#/keys']");
    await page.click("nav#nav a[href='#/webhook']");
    await page.waitForSelector("#delivery-rows tr");
    const row = await page.textContent("#delivery-rows tr");
    expect(row).toContain("key.created");
    expect(row).toContain("delivered");
    expect(row).toContain("HTTP 204");
    const { scroll, viewport: w } = await overflow(page);
    expect(scroll).toBeLessThanOrEqual(w);
    await screenshot(page, `webhook-${width}`);

    await page.click("#webhook-delete");
    await page.waitForSelector("dialog#webhook-delete-dialog[open]");
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("webhook-delete-cancel");
    // DELETE answers 204 with no body: the console's client takes any empty success as done (no special case).
    const removal = page.waitForResponse((r) => r.request().method() === "DELETE" && r.url().endsWith("/webhook"));
    await page.click("#webhook-delete-confirm");
    expect((await removal).status()).toBe(204);
    await page.waitForSelector("#webhook-none");
    await expect.poll(() => page.textContent("#status")).toBe("The webhook is removed.");
    expect((await api("GET", "/webhook")).status).toBe(404);
    // Only what Chromium logs itself: the refused save's 400 and GET …/webhook's 404 while there is none.
    expect(errors.filter((e) => !/status of (400|404)/.test(e))).toEqual([]);
    await context.close();
  });
});
