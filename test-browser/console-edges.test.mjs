// @ts-check
// The console's rough edges (issue 22), each against `wrangler dev` in Chromium:
// Revoke on a disabled key, a key's credit alert, the kill switch's count, audit
// labels and sentences (webhook saves, acknowledged anomalies), the 390 px layout,
// usage over 24 hours, 7 and 30 days, webhook redelivery, and the org's sessions.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWebhookReceiver } from "../test-node/support/webhook-receiver.mjs";
import { until } from "../test-support/until.mjs";
import { adminApi, listed, openPage, PHONE, signIn, uniqueOrg, useKeywardAndChromium } from "./support.mjs";

const env = useKeywardAndChromium();

/** @type {Awaited<ReturnType<typeof startWebhookReceiver>>} */
let receiver;
beforeAll(async () => {
  receiver = await startWebhookReceiver();
});
afterAll(() => receiver?.close());

describe("the console's rough edges", () => {
  it("keeps Revoke on a disabled key (list and detail), and shows the key's credit alert", async () => {
    const org = uniqueOrg("edgesdis");
    const operator = adminApi(env.keyward, org, env.keyward.operatorToken);
    const made = await operator("POST", "/keys", { label: "suspended one", credits: { remaining: 10, alertBelow: 5 } });
    expect(made.status).toBe(201);
    expect((await operator("POST", `/keys/${made.body.id}/disable`, {})).status).toBe(200);

    const { context, page, errors } = await openPage(env.browser);
    await signIn(page, env.keyward, org);
    await listed(page, () => page.selectOption("#filter-status", "disabled"));
    const row = page.locator(`#key-rows tr[data-key-id="${made.body.id}"]`);
    expect(await row.locator('button[data-action="revoke"]').count()).toBe(1);

    await page.goto(`${env.keyward.url}/_keyward/console#/keys/${made.body.id}`);
    await page.waitForSelector("#key-enable");
    expect(await page.textContent("#credit-alert")).toBe("credits.low when the balance falls below 5");
    await page.click("#detail-revoke");
    await page.waitForSelector("dialog#revoke-dialog[open]");
    await page.click("#confirm-revoke");
    await page.waitForSelector("dialog#revoke-dialog", { state: "detached" });
    await expect.poll(async () => (await operator("GET", `/keys/${made.body.id}`)).body.status).toBe("revoked");
    expect(errors).toEqual([]);
    await context.close();
  });

  it("an admin renames a key and edits its metadata as JSON, with a clear error for invalid JSON and for too large", async () => {
    const org = uniqueOrg("edgesmeta");
    const token = await env.keyward.adminToken(org);
    const api = adminApi(env.keyward, org, token);
    const { body: k } = await api("POST", "/keys", { label: "billing worker", meta: { plan: "free" } });

    const { context, page, errors } = await openPage(env.browser);
    await signIn(page, env.keyward, org, token);
    await page.goto(`${env.keyward.url}/_keyward/console#/keys/${k.id}`);
    await page.waitForSelector("#edit-form");
    expect(JSON.parse((await page.textContent("#meta-json")) ?? "")).toEqual({ plan: "free" });

    // Invalid JSON: said in the page, the field marked, nothing sent.
    const patches = [];
    page.on("request", (r) => r.method() === "PATCH" && patches.push(r.url()));
    await page.fill("#edit-meta", '{"plan": pro}');
    await page.click("#edit-save");
    await page.waitForSelector("#problem:not([hidden])");
    expect(await page.textContent("#problem")).toMatch(/^INVALID_REQUEST: meta: this is not valid JSON \(.+\)\. Write one JSON object/);
    expect(await page.getAttribute("#edit-meta", "aria-invalid")).toBe("true");
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("edit-meta");
    // Too large: the size is named.
    await page.fill("#edit-meta", JSON.stringify({ blob: "x".repeat(1100) }));
    await page.click("#edit-save");
    await expect.poll(() => page.textContent("#problem")).toBe("INVALID_REQUEST: meta: must be at most 1024 bytes as JSON (this is 1,111 bytes).");
    expect(patches).toEqual([]);

    await page.fill("#edit-label", "Invoices worker");
    await page.fill("#edit-meta", '{"plan": "pro", "customerId": "cus_42"}');
    await page.click("#edit-save");
    await expect.poll(() => page.textContent("#status")).toBe("Saved Invoices worker.");
    await expect.poll(() => page.textContent("#detail-title")).toMatch(/^Invoices worker /);
    expect(JSON.parse((await page.textContent("#meta-json")) ?? "")).toEqual({ plan: "pro", customerId: "cus_42" });
    const now = (await api("GET", `/keys/${k.id}`)).body;
    expect(now).toMatchObject({ label: "Invoices worker", meta: { plan: "pro", customerId: "cus_42" } });
    // The origin sees the new meta.
    expect((await env.call(k.key)).status).toBe(200);
    // In the audit log, in words.
    await page.click("nav#nav a[href='#/audit']");
    const row = page.locator('#audit-rows tr[data-action="key.meta_changed"]');
    await row.waitFor();
    expect(await row.locator('td[data-label="What"]').textContent()).toBe('Metadata set to {"plan":"pro","customerId":"cus_42"}; renamed to “Invoices worker”');
    // Emptying the metadata removes it.
    await page.goto(`${env.keyward.url}/_keyward/console#/keys/${k.id}`);
    await page.waitForSelector("#edit-form");
    await page.fill("#edit-meta", "");
    await page.click("#edit-save");
    await page.waitForSelector("#meta-none");
    expect((await api("GET", `/keys/${k.id}`)).body.meta).toBeNull();
    expect(errors).toEqual([]);
    await context.close();
  });

  it("a member sees the org's keys and usage read-only: no action offered, and the server refuses the member's writes", async () => {
    const org = uniqueOrg("edgesmember");
    const admin = adminApi(env.keyward, org, await env.keyward.adminToken(org));
    const { body: k } = await admin("POST", "/keys", { label: "shared key", meta: { plan: "team" } });
    const memberToken = await env.keyward.adminToken(org, "org:member", { subject: "mo-member" });

    const { context, page, errors } = await openPage(env.browser);
    await signIn(page, env.keyward, org, memberToken);
    expect(await page.textContent("#read-only")).toContain("Read-only");
    expect(await page.locator("#key-rows tr").count()).toBe(1);
    expect(await page.textContent("#key-rows tr .label-cell")).toBe("shared key");
    expect(await page.isVisible("#create-form")).toBe(false);
    expect(await page.locator("#keys button[data-action]").count()).toBe(0);
    expect(await page.locator("nav#nav a").allTextContents()).toEqual(["Keys", "Usage"]);

    await page.click("#key-rows tr a");
    await page.waitForSelector("#key-facts");
    expect(JSON.parse((await page.textContent("#meta-json")) ?? "")).toEqual({ plan: "team" });
    for (const action of ["#detail-revoke", "#detail-roll", "#key-disable", "#key-enable", "#edit-form", "#detail-audit"]) {
      expect(await page.locator(action).count(), action).toBe(0);
    }
    await page.click("nav#nav a[href='#/usage']");
    await page.waitForSelector("#org-usage svg.chart");

    // The server refuses what the page does not offer.
    const member = adminApi(env.keyward, org, memberToken);
    for (const [method, path, body] of [
      ["POST", "/keys", { label: "sneaky" }],
      ["POST", `/keys/${k.id}/revoke`, {}],
      ["PATCH", `/keys/${k.id}`, { label: "renamed" }],
      ["PUT", "/webhook", { url: `${receiver.url}/member` }],
    ]) {
      const res = await member(String(method), String(path), body);
      expect(res.status, `${method} ${path}`).toBe(403);
    }
    expect((await admin("GET", "/keys")).body.keys.map((x) => [x.label, x.status])).toEqual([["shared key", "active"]]);
    expect(errors).toEqual([]);
    await context.close();
  });

  it("the operator sets a key's credits (with its alert) and the org's shared limit from the console; the gateway obeys both", async () => {
    const org = uniqueOrg("edgesgrant");
    const operator = adminApi(env.keyward, org, env.keyward.operatorToken);
    const { body: k } = await operator("POST", "/keys", { label: "paid key" });

    const { context, page, errors } = await openPage(env.browser);
    await signIn(page, env.keyward, org, env.keyward.operatorToken);
    await page.goto(`${env.keyward.url}/_keyward/console#/keys/${k.id}`);
    await page.waitForSelector("#credits-form");
    expect(await page.textContent("#credit-balance")).toBe("unlimited (no credit balance)");
    await page.selectOption("#credits-operation", "set");
    await page.fill("#credits-value", "3");
    await page.fill("#credits-alert", "1");
    await page.click("#credits-apply");
    await expect.poll(() => page.textContent("#status")).toBe("paid key: 3 credits left.");
    await expect.poll(() => page.textContent("#credit-balance")).toBe("3 credits left");
    expect(await page.textContent("#credit-alert")).toBe("credits.low when the balance falls below 1");
    await page.selectOption("#credits-operation", "increment");
    await page.fill("#credits-value", "2");
    await page.click("#credits-apply");
    await expect.poll(() => page.textContent("#credit-balance")).toBe("5 credits left");
    expect((await operator("GET", `/keys/${k.id}`)).body.credits).toMatchObject({ remaining: 5, alertBelow: 1 });
    // A bad amount is the server's 400, shown on its field.
    await page.selectOption("#credits-operation", "decrement");
    await page.fill("#credits-value", "");
    await page.click("#credits-apply");
    await page.waitForSelector("#problem:not([hidden])");
    expect(await page.getAttribute("#credits-value", "aria-invalid")).toBe("true");

    // The org's shared limit: 2 requests per minute across every key.
    await page.click("nav#nav a[href='#/org-limit']");
    await page.waitForSelector("#org-limit-none");
    await page.fill("#org-limit-limit", "2");
    await page.fill("#org-limit-window", "60");
    await page.click("#org-limit-save");
    await expect.poll(() => page.textContent("#org-limit-state")).toMatch(/^2 requests per 60 s, shared by every key/);
    expect((await operator("GET", "/rate-limit")).body).toEqual({ limit: 2, windowSeconds: 60 });
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await env.call(k.key)).status);
    expect(statuses).toEqual([200, 200, 429]);
    await page.click("#org-limit-clear");
    await page.waitForSelector("#org-limit-none");
    expect((await operator("GET", "/rate-limit")).status).toBe(404);
    // "No org limit" is GET's 404, which the browser logs as a failed load; the refused credits call is a 400.
    expect(errors.filter((e) => !/status of (404|400)/.test(e))).toEqual([]);
    await context.close();

    // An org admin (no org credits) is offered neither.
    const admin = await openPage(env.browser);
    await signIn(admin.page, env.keyward, org);
    expect(await admin.page.locator("nav#nav a[href='#/org-limit']").count()).toBe(0);
    await admin.page.goto(`${env.keyward.url}/_keyward/console#/keys/${k.id}`);
    await admin.page.waitForSelector("#plan-facts");
    expect(await admin.page.locator("#credits-form").count()).toBe(0);
    await admin.context.close();
  });

  it("the kill switch says how many keys it will revoke before the org id is typed, and offers nothing when none match", async () => {
    const org = uniqueOrg("edgesks");
    const token = await env.keyward.adminToken(org);
    const api = adminApi(env.keyward, org, token);
    const keys = [];
    for (const label of ["web", "mobile", "old"]) keys.push((await api("POST", "/keys", { label })).body);
    expect((await api("POST", `/keys/${keys[2].id}/revoke`, {})).status).toBe(200);

    const { context, page, errors } = await openPage(env.browser);
    await signIn(page, env.keyward, org, token);
    await page.click("nav#nav a[href='#/kill-switch']");
    await page.click("#kill-switch-open");
    await page.waitForSelector("dialog#kill-switch-dialog[open]");
    await expect.poll(() => page.textContent("#kill-switch-count")).toBe("This revokes 2 keys (1 more already revoked).");
    await page.click("#kill-switch-cancel");
    // The count asked nothing to be revoked.
    expect((await api("GET", "/keys?status=active")).body.keys).toHaveLength(2);

    await page.fill("#ks-label-prefix", "nothing-like-this");
    await page.click("#kill-switch-open");
    await expect.poll(() => page.textContent("#kill-switch-count")).toBe("No unrevoked key matches: there is nothing to revoke.");
    await page.fill("#kill-switch-confirm", org);
    expect(await page.isDisabled("#kill-switch-go")).toBe(true);
    await page.click("#kill-switch-cancel");
    expect(errors).toEqual([]);
    await context.close();
  });

  it("names every audit action in one style, shows a webhook save for the whole org, and an acknowledged anomaly as a sentence", async () => {
    const org = uniqueOrg("edgesaudit");
    const token = await env.keyward.adminToken(org);
    const api = adminApi(env.keyward, org, token);
    const { body: k } = await api("POST", "/keys", { label: "storefront" });
    expect((await api("PUT", "/webhook", { url: `${receiver.url}/audit`, events: ["key.revoked"] })).status).toBe(200);
    // A request from a web page raises a browser_use anomaly with the guard's next report.
    expect((await env.call(k.key, { origin: "https://example.com", "sec-fetch-mode": "cors" })).status).toBe(200);
    const anomaly = await until(async () => (await api("GET", "/anomalies")).body.anomalies[0], "the browser_use anomaly", { ms: 90_000, everyMs: 500 });
    expect((await api("POST", `/anomalies/${anomaly.id}/acknowledge`, {})).status).toBe(200);

    const { context, page, errors } = await openPage(env.browser);
    await signIn(page, env.keyward, org, token);
    await page.click("nav#nav a[href='#/audit']");
    await page.waitForSelector('#audit-rows tr[data-action="anomaly.acknowledged"]');
    const labels = await page.locator("#audit-action option").allTextContents();
    expect(labels[0]).toBe("all actions");
    // One style: a capital first letter and no raw ids.
    for (const label of labels.slice(1)) expect(label).toMatch(/^[A-Z][a-z']*( [a-z0-9']+)*$/);
    expect(labels).toContain("Webhook saved");
    expect(labels).toContain("Anomaly acknowledged");

    const ack = page.locator('#audit-rows tr[data-action="anomaly.acknowledged"]');
    expect(await ack.locator('td[data-label="What"]').textContent()).toBe("Acknowledged the “used from a browser” anomaly: marked as seen");
    const hook = page.locator('#audit-rows tr[data-action="webhook.set"]');
    expect(await hook.locator('td[data-label="What"]').textContent()).toBe(`Webhook saved: 1 event go to ${receiver.url}/audit, signed with a new secret`);
    expect(await hook.locator('td[data-label="Key"]').textContent()).toBe("whole organisation");
    expect(errors).toEqual([]);
    await context.close();
  });

  it("at 390 px every tab is on screen (Kill switch included) and the chart's axis labels are page-sized text", async () => {
    const org = uniqueOrg("edgesphone");
    const { context, page, errors } = await openPage(env.browser, { viewport: PHONE });
    await signIn(page, env.keyward, org);
    for (const tab of await page.locator("nav#nav a").all()) {
      const box = await tab.boundingBox();
      expect(box).not.toBeNull();
      expect((box?.x ?? -1) >= 0 && (box?.x ?? 0) + (box?.width ?? 0) <= PHONE.width).toBe(true);
    }
    await page.click("nav#nav a[href='#/kill-switch']");
    await page.waitForSelector("#kill-switch:not([hidden])");

    await page.click("nav#nav a[href='#/usage']");
    await page.waitForSelector("#org-usage .x-axis .axis");
    const axis = await page.$$eval("#org-usage .axis", (labels) =>
      labels.map((l) => {
        const box = l.getBoundingClientRect();
        return { size: Number.parseFloat(getComputedStyle(l).fontSize), left: box.left, right: box.right, text: l.textContent };
      }),
    );
    expect(axis.length).toBe(5);
    for (const label of axis) {
      expect(label.size).toBeGreaterThanOrEqual(12);
      expect(label.left).toBeGreaterThanOrEqual(0);
      expect(label.right).toBeLessThanOrEqual(PHONE.width);
    }
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE.width);
    expect(errors).toEqual([]);
    await context.close();
  });

  it("charts usage over 24 hours, 7 days and 30 days, one org usage call each, from the hour and day buckets", async () => {
    const org = uniqueOrg("edgesrange");
    const { context, page, errors } = await openPage(env.browser);
    /** @type {URL[]} */
    const asked = [];
    page.on("request", (r) => {
      if (/\/orgs\/[^/]+\/usage\?/.test(r.url())) asked.push(new URL(r.url()));
    });
    await signIn(page, env.keyward, org);
    await page.click("nav#nav a[href='#/usage']");
    await expect.poll(() => page.locator("#org-usage svg.chart rect.bar-admitted").count()).toBe(24);
    expect(await page.getAttribute("#org-usage svg.chart", "aria-label")).toMatch(/^Requests per hour over the last 24 hours: /);
    for (const [range, bars, per] of [
      ["7d", 7, "day (UTC) over the last 7 days"],
      ["30d", 30, "day (UTC) over the last 30 days"],
      ["24h", 24, "hour over the last 24 hours"],
    ]) {
      await page.selectOption("#usage-range", String(range));
      await expect
        .poll(() => page.getAttribute("#org-usage svg.chart", "aria-label"))
        .toMatch(new RegExp(`^Requests per ${String(per).replace(/[()]/g, "\\$&")}: `));
      expect(await page.locator("#org-usage svg.chart rect.bar-admitted").count()).toBe(bars);
    }
    expect(asked.map((u) => u.searchParams.get("granularity"))).toEqual(["hour", "day", "day", "hour"]);
    // Each asks from its first slot: 7 and 30 UTC days back to midnight.
    const days = (u) => (Date.now() - Date.parse(u.searchParams.get("from") ?? "")) / 86_400_000;
    expect(days(asked[1])).toBeGreaterThan(6);
    expect(days(asked[1])).toBeLessThanOrEqual(7);
    expect(days(asked[2])).toBeGreaterThan(29);
    expect(days(asked[2])).toBeLessThanOrEqual(30);
    expect(errors).toEqual([]);
    await context.close();
  });

  it("redelivers a webhook delivery from the console: the receiver gets it again with the same webhook-id", async () => {
    const org = uniqueOrg("edgesredo");
    const token = await env.keyward.adminToken(org);
    const api = adminApi(env.keyward, org, token);
    const path = `/redo-${org}`;
    expect((await api("PUT", "/webhook", { url: `${receiver.url}${path}`, events: ["key.created"] })).status).toBe(200);
    expect((await api("POST", "/keys", { label: "announced" })).status).toBe(201);
    const mine = () => receiver.received.filter((r) => r.headers["webhook-id"] && r.body.includes(org));
    await until(async () => (await api("GET", "/webhook/deliveries")).body.deliveries[0]?.status === "delivered", "the first delivery", {
      ms: 60_000,
      everyMs: 500,
    });
    expect(mine()).toHaveLength(1);

    const { context, page, errors } = await openPage(env.browser);
    await signIn(page, env.keyward, org, token);
    await page.click("nav#nav a[href='#/webhook']");
    const redo = page.locator('#delivery-rows button[data-action="redeliver"]');
    await redo.waitFor();
    expect(await redo.count()).toBe(1);
    await redo.click();
    await expect.poll(() => page.textContent("#status")).toBe("The key.created delivery is queued again: it goes out within a few seconds.");
    await until(() => mine().length === 2, "the redelivery", { ms: 60_000, everyMs: 500 });
    expect(mine()[1]?.headers["webhook-id"]).toBe(mine()[0]?.headers["webhook-id"]);
    expect(errors).toEqual([]);
    await context.close();
  });

  it("lists the org's open console sessions and ends one: its cookie is 401 from then on", async () => {
    const org = uniqueOrg("edgessess");
    const mint = async (subject, role) => {
      const res = await fetch(`${env.keyward.url}/_keyward/v1/orgs/${org}/portal-sessions`, {
        method: "POST",
        headers: { authorization: `Bearer ${env.keyward.operatorToken}`, "content-type": "application/json" },
        body: JSON.stringify({ role, subject }),
      });
      expect(res.status).toBe(201);
      return (await res.json()).url;
    };
    // Bob's session, in a browser of its own.
    const bob = await openPage(env.browser);
    await bob.page.goto(await mint("bob@customer.example", "org:member"));
    const bobSession = () => bob.context.request.get(`${env.keyward.url}/_keyward/v1/session`);
    await expect.poll(async () => (await bobSession()).status()).toBe(200);

    const { context, page, errors } = await openPage(env.browser);
    await page.goto(await mint("ada@customer.example", "org:admin"));
    await page.waitForSelector("#keys:not([hidden])");
    await page.click("nav#nav a[href='#/sessions']");
    await page.waitForSelector("#session-rows tr");
    const rows = page.locator("#session-rows tr");
    expect(await rows.count()).toBe(2);
    const ada = rows.filter({ hasText: "ada@customer.example" });
    expect(await ada.locator('td[data-label="Who"]').textContent()).toBe("ada@customer.example" + "this session (you)");
    expect(await ada.locator('td[data-label="Signed in with"]').textContent()).toBe("portal link");
    const bobRow = rows.filter({ hasText: "bob@customer.example" });
    expect(await bobRow.locator('td[data-label="Role"]').textContent()).toBe("org:member");
    await bobRow.locator('button[data-action="end-session"]').click();
    await expect.poll(() => page.textContent("#status")).toBe("The session of bob@customer.example is ended.");
    await expect.poll(() => rows.count()).toBe(1);
    expect((await bobSession()).status()).toBe(401);
    // Ada's own session goes on.
    expect((await context.request.get(`${env.keyward.url}/_keyward/v1/session`)).status()).toBe(200);
    expect(errors).toEqual([]);
    await bob.context.close();
    await context.close();
  });
});
