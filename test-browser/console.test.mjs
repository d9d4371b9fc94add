// @ts-check
// Settings → API Keys, as an org admin uses it, in a real Chromium against `wrangler dev`.
import { describe, expect, it } from "vitest";
import { adminApi, listed, openPage, overflow, PHONE, screenshot, signIn, submitSignIn, uniqueOrg, useKeywardAndChromium, WIDE } from "./support.mjs";

const env = useKeywardAndChromium();

describe("the key lifecycle", () => {
  it("creates a key shown once in a modal, lists it, and revokes it after an in-page confirmation; the key then fails at the gateway", async () => {
    const org = uniqueOrg("life");
    const { context, page, errors } = await openPage(env.browser, { clipboard: true });
    await signIn(page, env.keyward, org);
    expect(await page.isVisible("#empty")).toBe(true);

    await page.fill("#label", "billing worker");
    await page.click("#create-submit");
    await page.waitForSelector("dialog#created[open]");
    const key = await page.textContent("#new-key");
    expect(key).toMatch(/^sk_live_[0-9a-f]{40}$/);
    await page.click("#copy");
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(key);
    await page.click("#done");
    await page.waitForSelector("dialog#created", { state: "detached" });
    expect(await page.content()).not.toContain(key);
    // Focus returns to the create form, ready for the next key.
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("label");

    const row = page.locator("#key-rows tr", { hasText: "billing worker" });
    expect(await row.locator(".status").textContent()).toBe("active");
    expect(await row.textContent()).toContain(key.slice(0, 16));
    expect((await fetch(`${env.keyward.url}/v1/hello`, { headers: { authorization: `Bearer ${key}` } })).status).toBe(200);

    // No browser confirm(): a dialog of the page, naming the key, with Cancel focused first.
    page.on("dialog", () => {
      throw new Error("the page used a browser dialog");
    });
    await page.getByRole("button", { name: "Revoke billing worker" }).click();
    await page.waitForSelector("dialog#revoke-dialog[open]");
    expect(await page.textContent("#revoke-title")).toBe("Revoke billing worker?");
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("cancel-revoke");
    await page.getByRole("button", { name: "Revoke billing worker now" }).click();
    await page.waitForSelector("dialog#revoke-dialog", { state: "detached" });
    await expect.poll(() => page.textContent("#status")).toBe("billing worker is revoked.");
    // Revoked keys leave the default (active) view and are one filter away.
    expect(await row.count()).toBe(0);
    await listed(page, () => page.selectOption("#filter-status", "revoked"));
    expect(await row.locator(".status").textContent()).toBe("revoked");

    const refused = await fetch(`${env.keyward.url}/v1/hello`, { headers: { authorization: `Bearer ${key}` } });
    expect(refused.status).toBe(403);
    expect((await refused.json()).code).toBe("KEY_REVOKED");
    expect(errors).toEqual([]);
    await context.close();
  });
});

describe("sign-in checks the token", () => {
  it.each([
    ["garbage", async () => "not-a-token", /INVALID_USER_TOKEN|neither a valid user token/],
    ["an expired token", (org) => env.keyward.adminToken(org, "org:admin", { ttl: -120 }), /expired/],
  ])("shows %s a clear message and no key view", async (_name, token, message) => {
    const org = uniqueOrg("bad");
    const { context, page } = await openPage(env.browser);
    await page.goto(`${env.keyward.url}/_keyward/console`);
    await submitSignIn(page, org, await token(org));
    await page.waitForSelector("#problem:not([hidden])");
    expect(await page.textContent("#problem")).toMatch(message);
    expect(await page.isVisible("#signin")).toBe(true);
    expect(await page.isVisible("#keys")).toBe(false);
    expect(await page.isVisible("#create-form")).toBe(false);
    expect(await page.evaluate(() => sessionStorage.getItem("kw.token"))).toBeNull();
    await context.close();
  });

  it("says how to get a token, for development and for production", async () => {
    const { context, page } = await openPage(env.browser);
    await page.goto(`${env.keyward.url}/_keyward/console`);
    await page.click(".help summary");
    const help = await page.textContent(".help");
    expect(help).toContain("npx keyward token --org acme --role org:admin");
    expect(help).toMatch(/identity provider/);
    await context.close();
  });

  it("disables Continue while the token is checked", async () => {
    const org = uniqueOrg("busy");
    const { context, page } = await openPage(env.browser);
    let release;
    const held = new Promise((r) => {
      release = r;
    });
    await page.route("**/me", async (route) => {
      await held;
      await route.continue();
    });
    await page.goto(`${env.keyward.url}/_keyward/console`);
    await submitSignIn(page, org, await env.keyward.adminToken(org));
    await expect.poll(() => page.textContent("#signin-submit")).toBe("Checking token…");
    expect(await page.isDisabled("#signin-submit")).toBe(true);
    release();
    await page.waitForSelector("#keys:not([hidden])");
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("keys-title");
    await context.close();
  });
});

describe("session state", () => {
  it("sign-out clears everything: another org's sign-in with the first org's token shows neither its keys nor an old error", async () => {
    const orgA = uniqueOrg("a");
    const orgB = uniqueOrg("b");
    const tokenA = await env.keyward.adminToken(orgA);
    await adminApi(env.keyward, orgA, tokenA)("POST", "/keys", { label: "org A secret project" });
    const { context, page } = await openPage(env.browser);
    await signIn(page, env.keyward, orgA, tokenA);
    expect(await page.textContent("#key-rows")).toContain("org A secret project");

    await page.click("#signout");
    expect(await page.isVisible("#signin")).toBe(true);
    expect(await page.textContent("#signin-reason")).toMatch(/signed out/i);
    expect(await page.content()).not.toContain("org A secret project");
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);

    await submitSignIn(page, orgB, tokenA);
    await page.waitForSelector("#problem:not([hidden])");
    expect(await page.textContent("#problem")).toContain(`This token is for organisation ${orgA}, not ${orgB}`);
    expect(await page.content()).not.toContain("org A secret project");
    expect(await page.isVisible("#keys")).toBe(false);

    await submitSignIn(page, orgB, await env.keyward.adminToken(orgB));
    await page.waitForSelector("#keys:not([hidden])");
    await page.waitForSelector("#empty");
    expect(await page.isVisible("#problem")).toBe(false);
    expect(await page.textContent("#org-name")).toBe(orgB);
    await context.close();
  });

  it("switching organisation drops the session, its dialogs and its requests in flight", async () => {
    const org = uniqueOrg("switch");
    const { context, page } = await openPage(env.browser);
    await signIn(page, env.keyward, org);
    await page.click("#switch-org");
    expect(await page.isVisible("#signin")).toBe(true);
    expect(await page.inputValue("#org")).toBe("");
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("org");
    expect(await page.locator("#views > *").count()).toBe(0);
    await context.close();
  });

  it("an expired token returns to sign-in with the reason when its time is up", async () => {
    const org = uniqueOrg("exp");
    const { context, page } = await openPage(env.browser);
    // The page's clock is faked (so are its timers, which Playwright's own waiting uses): poll from here instead.
    await page.clock.install();
    await page.goto(`${env.keyward.url}/_keyward/console`);
    await submitSignIn(page, org, await env.keyward.adminToken(org, "org:admin", { ttl: 600 }));
    await expect.poll(() => page.isVisible("#keys")).toBe(true);
    await page.clock.fastForward("10:30");
    await expect.poll(() => page.isVisible("#signin")).toBe(true);
    expect(await page.textContent("#signin-reason")).toMatch(/Your token expired at .*Sign in again/);
    expect(await page.isVisible("#keys")).toBe(false);
    await context.close();
  });

  it("a token the server no longer accepts returns to sign-in with the server's reason", async () => {
    const org = uniqueOrg("exp401");
    const { context, page } = await openPage(env.browser);
    await signIn(page, env.keyward, org);
    await page.route("**/keys", (route) =>
      route.fulfill({
        status: 401,
        contentType: "application/json",
        body: JSON.stringify({
          code: "INVALID_USER_TOKEN",
          message: "The user token is not valid: it has expired. Sign in again to get a new token.",
          requestId: "r",
        }),
      }),
    );
    await page.fill("#label", "after expiry");
    await page.click("#create-submit");
    await page.waitForSelector("#signin:not([hidden])");
    expect(await page.textContent("#signin-reason")).toContain("it has expired");
    expect(await page.evaluate(() => sessionStorage.getItem("kw.token"))).toBeNull();
    await context.close();
  });
});

describe("requests that fail or repeat", () => {
  it("an aborted Create is reported in the alert region, with no uncaught error, and the button comes back", async () => {
    const org = uniqueOrg("net");
    const { context, page, errors } = await openPage(env.browser);
    await signIn(page, env.keyward, org);
    await page.route("**/keys", (route) => (route.request().method() === "POST" ? route.abort("failed") : route.continue()));
    await page.fill("#label", "never created");
    await page.click("#create-submit");
    await page.waitForSelector("#problem:not([hidden])");
    expect(await page.getAttribute("#problem", "role")).toBe("alert");
    expect(await page.textContent("#problem")).toMatch(/could not be reached/);
    expect(await page.isEnabled("#create-submit")).toBe(true);
    expect(errors.filter((e) => !e.includes("net::ERR_FAILED"))).toEqual([]);
    expect(errors.join("\n")).not.toMatch(/uncaught|Failed to fetch/);
    await context.close();
  });

  it("double-clicking Create key creates one key, and its secret is the one shown", async () => {
    const org = uniqueOrg("dbl");
    const token = await env.keyward.adminToken(org);
    const { context, page } = await openPage(env.browser);
    await signIn(page, env.keyward, org, token);
    // The network is slow enough for the second click to land while the first is in flight.
    await page.route("**/keys", async (route) => {
      if (route.request().method() === "POST") await new Promise((r) => setTimeout(r, 400));
      await route.continue();
    });
    await page.fill("#label", "double click");
    await page.dblclick("#create-submit");
    await page.waitForSelector("dialog#created[open]");
    const shown = await page.textContent("#new-key");
    await page.click("#done");
    const { body } = await adminApi(env.keyward, org, token)("GET", "/keys");
    expect(body.keys).toHaveLength(1);
    expect(shown.startsWith(body.keys[0].prefix)).toBe(true);
    await context.close();
  });
});

describe("the one-time secret dialog", () => {
  it("warns before it closes with the key not stored, Escape included", async () => {
    const org = uniqueOrg("esc");
    const { context, page } = await openPage(env.browser, { clipboard: true });
    await signIn(page, env.keyward, org);
    await page.fill("#label", "escape test");
    await page.click("#create-submit");
    await page.waitForSelector("dialog#created[open]");
    await page.keyboard.press("Escape");
    expect(await page.isVisible("dialog#created[open]")).toBe(true);
    expect(await page.isVisible("#unstored-warning")).toBe(true);
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("back-to-key");
    await page.keyboard.press("Escape");
    expect(await page.isVisible("dialog#created[open]")).toBe(true);
    await page.click("#back-to-key");
    expect(await page.isVisible("#unstored-warning")).toBe(false);
    await page.click("#copy");
    await page.waitForSelector("#copied:not([hidden])");
    await page.keyboard.press("Escape");
    await page.waitForSelector("dialog#created", { state: "detached" });

    // Closing without storing is possible, but only by saying so.
    await page.fill("#label", "escape test 2");
    await page.click("#create-submit");
    await page.waitForSelector("dialog#created[open]");
    await page.keyboard.press("Escape");
    await page.click("#close-anyway");
    await page.waitForSelector("dialog#created", { state: "detached" });
    await context.close();
  });
});

describe("layout", () => {
  it.each([
    ["1280", WIDE],
    ["390", PHONE],
    ["360", { width: 360, height: 740 }],
  ])("keeps a 100-character label inside its cell at %s px, with no horizontal scrolling", async (_w, viewport) => {
    const org = uniqueOrg("wide");
    const token = await env.keyward.adminToken(org);
    await adminApi(env.keyward, org, token)("POST", "/keys", { label: "x".repeat(100) });
    const { context, page } = await openPage(env.browser, { viewport });
    await signIn(page, env.keyward, org, token);
    const { scroll, viewport: width } = await overflow(page);
    expect(scroll).toBeLessThanOrEqual(width);
    const cell = await page.locator("#key-rows td.label-cell").boundingBox();
    expect(cell.x + cell.width).toBeLessThanOrEqual(width);
    await context.close();
  });

  it("shows key prefixes and ids in a monospace font", async () => {
    const org = uniqueOrg("mono");
    const token = await env.keyward.adminToken(org);
    await adminApi(env.keyward, org, token)("POST", "/keys", { label: "mono" });
    const { context, page } = await openPage(env.browser);
    await signIn(page, env.keyward, org, token);
    const font = await page.locator("#key-rows code.prefix").evaluate((el) => getComputedStyle(el).fontFamily);
    expect(font).toMatch(/monospace/);
    await context.close();
  });
});

describe("detail, audit and screenshots", () => {
  it.each([
    ["1280", WIDE],
    ["390", PHONE],
  ])("shows a key's detail with its scheduled revocation, the audit log filtered and in words, and the secret dialog (%s px)", async (width, viewport) => {
    const org = uniqueOrg(`shots${width}`);
    const token = await env.keyward.adminToken(org);
    const api = adminApi(env.keyward, org, token);
    const made = {};
    for (const [label, environment] of [
      ["billing worker", "live"],
      ["reporting cron (read-only)", "live"],
      ["staging smoke tests", "test"],
      ["old mobile app", "live"],
    ]) {
      made[label] = (await api("POST", "/keys", { label, environment, ...(label.startsWith("reporting") ? { scopes: ["reports:read"] } : {}) })).body;
    }
    await api("POST", `/keys/${made["old mobile app"].id}/revoke`, {});
    const { context, page, errors } = await openPage(env.browser, { viewport, clipboard: true });
    await signIn(page, env.keyward, org, token);
    expect(await page.locator("#key-rows tr").count()).toBe(3);

    // Scheduled revocation from the list, with the grace period shown before it is sent.
    await page.getByRole("button", { name: "Revoke billing worker" }).click();
    await page.check("input[name=when][value=later]");
    await page.selectOption("#grace", String(24 * 3_600_000));
    expect(await page.textContent("#grace-summary")).toMatch(/^Grace period: 24 h\. The key keeps working until .*, then is refused\.$/);
    await page.getByRole("button", { name: "Schedule revocation of billing worker" }).click();
    await page.waitForSelector("dialog#revoke-dialog", { state: "detached" });
    const row = page.locator("#key-rows tr", { hasText: "billing worker" });
    await expect.poll(() => row.locator(".status").first().textContent()).toBe("active, revoking");
    expect(await row.textContent()).toMatch(/revokes in 2[34] h/);
    const billing = made["billing worker"];
    expect((await fetch(`${env.keyward.url}/v1/hello`, { headers: { authorization: `Bearer ${billing.key}` } })).status).toBe(200);
    await screenshot(page, `list-${width}`);

    // Detail: every field, the scheduled revocation with its grace, who did it.
    await row.locator("a").click();
    await page.waitForSelector("#key-facts");
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("detail-title");
    const facts = await page.textContent("#key-facts");
    for (const text of [billing.id, billing.prefix, "live", "everything the organisation may do", "by browser-admin", "60 requests per 60 s", "Last used"]) {
      expect(facts).toContain(text);
    }
    expect(facts).toMatch(/Scheduled revocation.*grace period ends in 2[34] h.*scheduled by browser-admin/);
    const idFont = await page
      .locator("#key-facts code")
      .first()
      .evaluate((el) => getComputedStyle(el).fontFamily);
    expect(idFont).toMatch(/monospace/);
    await screenshot(page, `detail-${width}`);

    // Audit: filtered by key and by action, in sentences, never raw JSON.
    await page.click("#detail-audit");
    await page.waitForSelector("#audit-rows tr");
    expect(await page.inputValue("#audit-key")).toBe(billing.id);
    const actions = await page.locator("#audit-rows tr").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-action")));
    expect(actions).toEqual(["key.revocation_scheduled", "key.created"]);
    // The server filters (issue 21: older entries are found too), so each answer comes after a round trip.
    await page.selectOption("#audit-key", "");
    await page.selectOption("#audit-action", "key.created");
    await expect.poll(() => page.locator("#audit-rows tr").count()).toBe(4);
    expect(await page.textContent("#audit-rows")).toContain("Created “staging smoke tests” (test)");
    await page.selectOption("#audit-action", "");
    await expect.poll(() => page.textContent("#audit-rows")).toMatch(/Scheduled revocation for /);
    const all = await page.textContent("#audit-rows");
    expect(all).not.toMatch(/[{}]/);
    expect(page.url()).toMatch(/#\/audit$/);
    await screenshot(page, `audit-${width}`);

    // Search, status and environment filters.
    await page.click("nav#nav a[href='#/keys']");
    await page.waitForSelector("#key-rows tr");
    await listed(page, () => page.fill("#search", "cron"));
    expect(await page.locator("#key-rows tr").count()).toBe(1);
    await listed(page, () => page.fill("#search", made["staging smoke tests"].prefix.slice(0, 14)));
    expect(await page.textContent("#key-rows")).toContain("staging smoke tests");
    await listed(page, () => page.fill("#search", ""));
    await listed(page, () => page.selectOption("#filter-env", "test"));
    expect(await page.locator("#key-rows tr").count()).toBe(1);
    await listed(page, () => page.selectOption("#filter-env", "all"));
    await listed(page, () => page.selectOption("#filter-status", "revoked"));
    expect(await page.textContent("#key-rows")).toContain("old mobile app");
    await listed(page, () => page.selectOption("#filter-status", "active"));

    // The one-time secret dialog.
    await page.fill("#label", "payments webhook relay");
    await page.click("#create-submit");
    await page.waitForSelector("dialog#created[open]");
    await screenshot(page, `secret-${width}`);
    await page.click("#done");
    expect(errors).toEqual([]);
    await context.close();
  });

  it("pages on the server: 60 keys in pages of 25 with Next and Previous, a search that finds a key of the last page, never every key at once", async () => {
    const org = uniqueOrg("pages");
    const token = await env.keyward.adminToken(org);
    const api = adminApi(env.keyward, org, token);
    // The oldest key comes last (newest first): it is on the third page.
    await api("POST", "/keys", { label: "Needle in the last page" });
    for (let i = 0; i < 59; i++) await api("POST", "/keys", { label: `worker ${String(i).padStart(2, "0")}` });
    const { context, page, errors } = await openPage(env.browser);
    const listings = [];
    page.on("request", (r) => {
      const url = new URL(r.url());
      if (r.method() === "GET" && url.pathname === `/_keyward/v1/orgs/${org}/keys`) listings.push(url.searchParams);
    });
    await signIn(page, env.keyward, org, token);
    const rows = () => page.locator("#key-rows tr").count();
    const labels = async () => (await page.locator("#key-rows td.label-cell").allTextContents()).join("|");

    expect(await rows()).toBe(25);
    expect(await page.textContent("#page-range")).toBe("1–25");
    expect(await page.isDisabled("#page-prev")).toBe(true);
    const first = await labels();
    expect(first).toContain("worker 58");
    await listed(page, () => page.click("#page-next"));
    expect(await rows()).toBe(25);
    expect(await page.textContent("#page-range")).toBe("26–50");
    const second = await labels();
    await listed(page, () => page.click("#page-next"));
    expect(await rows()).toBe(10);
    expect(await page.textContent("#page-range")).toBe("51–60");
    expect(await page.isDisabled("#page-next")).toBe(true);
    expect(await labels()).toContain("Needle in the last page");
    // Previous goes back through the cursors already followed.
    await listed(page, () => page.click("#page-prev"));
    expect(await labels()).toBe(second);
    await listed(page, () => page.click("#page-prev"));
    expect(await labels()).toBe(first);
    expect(await page.isDisabled("#page-prev")).toBe(true);
    // Every key exactly once over the three pages.
    const seen = [first, second].join("|").split("|");
    expect(new Set(seen).size).toBe(50);

    // The search goes to the server and finds the key that sits on the last page.
    await listed(page, () => page.fill("#search", "NEEDLE"));
    expect(await labels()).toBe("Needle in the last page");
    expect(await page.textContent("#page-range")).toBe("1–1");
    expect(await page.isDisabled("#page-next")).toBe(true);
    await listed(page, () => page.fill("#search", ""));
    await listed(page, () => page.selectOption("#page-size", "50"));
    expect(await rows()).toBe(50);
    await listed(page, () => page.click("#page-next"));
    expect(await page.textContent("#page-range")).toBe("51–60");

    // The request log: one page per request, cursors for Next and Previous, the search as q.
    const log = listings.map((p) => Object.fromEntries(p));
    expect(log.map((q) => q.limit)).toEqual(["25", "25", "25", "25", "25", "25", "25", "50", "50"]);
    // sign-in, Next, Next, Previous, Previous (first page: no cursor), search, clear, page size, Next.
    expect(log.map((q) => ("cursor" in q ? "c" : "-")).join("")).toBe("-ccc----c");
    expect(log[1]?.cursor).toEqual(expect.any(String));
    expect(log[2]?.cursor).not.toBe(log[1]?.cursor);
    expect(log[3]?.cursor).toBe(log[1]?.cursor);
    expect("cursor" in (log[4] ?? {})).toBe(false);
    expect(log[5]).toEqual({ limit: "25", q: "NEEDLE", status: "active" });
    expect(log[6]).toEqual({ limit: "25", status: "active" });
    expect(log.every((q) => Number(q.limit) <= 50)).toBe(true);
    expect(errors).toEqual([]);
    await context.close();
  });

  it("works from the keyboard alone: sign in, create, copy, close, revoke", async () => {
    const org = uniqueOrg("keys");
    const token = await env.keyward.adminToken(org);
    const { context, page } = await openPage(env.browser, { clipboard: true });
    await page.goto(`${env.keyward.url}/_keyward/console`);
    // The page starts with the focus on the sign-in heading; the next stop is the organisation.
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("signin-title");
    await page.keyboard.press("Tab");
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("org");
    await page.keyboard.type(org);
    await page.keyboard.press("Tab");
    await page.keyboard.type(token);
    await page.keyboard.press("Enter");
    await page.waitForSelector("#keys:not([hidden])");
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("keys-title");
    await page.keyboard.press("Tab");
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("label");
    await page.keyboard.type("keyboard only");
    await page.keyboard.press("Enter");
    await page.waitForSelector("dialog#created[open]");
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("copy");
    await page.keyboard.press("Enter");
    await page.waitForSelector("#copied:not([hidden])");
    await page.keyboard.press("Escape");
    await page.waitForSelector("dialog#created", { state: "detached" });
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("label");
    // Tab to the row's Revoke button, open the confirmation, choose "now" and confirm.
    for (let i = 0; i < 40; i++) {
      await page.keyboard.press("Tab");
      if (await page.evaluate(() => document.activeElement?.getAttribute("data-action") === "revoke")) break;
    }
    await page.keyboard.press("Enter");
    await page.waitForSelector("dialog#revoke-dialog[open]");
    await page.keyboard.press("Shift+Tab");
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("confirm-revoke");
    await page.keyboard.press("Enter");
    await expect.poll(() => page.textContent("#status")).toBe("keyboard only is revoked.");
    await context.close();
  });
});
