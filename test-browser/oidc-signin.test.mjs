// @ts-check
// Signing in to the console with the identity provider (issue 22), end to end in
// Chromium: a real OpenID provider (`oidc-provider`, its login and consent pages)
// on http://localhost, Keyward under `wrangler dev` on 127.0.0.1 (another site),
// the authorization code flow with PKCE. Click "Sign in with Test IdP", sign in
// at the provider, consent, and land in the console signed in to the org and
// role of the ID token, with the org's keys shown.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startKeyward } from "../test-support/keyward-dev.mjs";
import { CONSOLE_CLIENT_ID, startLoginProvider } from "../test-support/oidc-login-provider.mjs";
import { launchChromium, openPage, screenshot, uniqueOrg } from "./support.mjs";

const ORG = uniqueOrg("oidc");
const OPERATOR = `dev_op_${randomBytes(24).toString("hex")}`;
/** The provider's people: login -> the claims of the `org` scope. */
const PEOPLE = { olga: { org_id: ORG, org_role: "org:admin" }, nora: { org_role: "org:admin" } };

/** @type {Awaited<ReturnType<typeof startLoginProvider>>} */
let idp;
/** @type {Awaited<ReturnType<typeof startKeyward>>} */
let keyward;
/** @type {import("playwright-core").Browser} */
let browser;

beforeAll(async () => {
  idp = await startLoginProvider({ people: PEOPLE });
  keyward = await startKeyward({
    vars: {
      KEYWARD_OPERATOR_TOKEN: OPERATOR,
      USER_TOKEN_ISSUER: idp.issuer,
      USER_JWKS_URL: idp.jwksUri,
      USER_JWT_ALGORITHMS: "RS256",
      CONSOLE_OIDC_CLIENT_ID: CONSOLE_CLIENT_ID,
      CONSOLE_OIDC_PROVIDER_NAME: "Test IdP",
      CONSOLE_OIDC_SCOPES: "org",
    },
  });
  idp.register(`${keyward.url}/_keyward/console/oidc/callback`);
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await keyward?.stop();
  await idp?.close();
});

/** Opens the console in a fresh context, clicks "Sign in with Test IdP" and signs in at the provider as `login`. */
async function signInAtProvider(login, { consent = true, shot = false } = {}) {
  const opened = await openPage(browser);
  const { page } = opened;
  await page.goto(`${keyward.url}/_keyward/console`);
  const button = page.locator("#signin-idp");
  expect(await button.textContent()).toBe("Sign in with Test IdP");
  // Signed out: the session bar (Sign out, Switch organisation) is not shown on the sign-in card.
  expect(await page.locator("#signout").isVisible()).toBe(false);
  if (shot) await screenshot(page, "oidc-sign-in-card");
  await button.click();
  await page.waitForURL((url) => url.origin === idp.issuer);
  await page.fill('input[name="login"]', login);
  await page.fill('input[name="password"]', "anything");
  await page.click('button[type="submit"]');
  await page.waitForSelector("text=Continue");
  if (consent) await page.click('button:has-text("Continue")');
  else await page.click("text=[ Cancel ]");
  await page.waitForURL((url) => url.origin === keyward.url);
  // The provider's development pages load a web font and a favicon that fail offline: only the console's own errors count.
  opened.errors.length = 0;
  return opened;
}

describe("signing in with the identity provider", () => {
  it("signs in at the provider, consents, and lands in the console signed in to the org and role of the token, with its keys", async () => {
    const created = await fetch(`${keyward.url}/_keyward/v1/orgs/${ORG}/keys`, {
      method: "POST",
      headers: { authorization: `Bearer ${OPERATOR}`, "content-type": "application/json" },
      body: JSON.stringify({ label: "payments backend" }),
    });
    expect(created.status).toBe(201);

    const { context, page, errors } = await signInAtProvider("olga", { shot: true });
    await page.waitForSelector("#keys:not([hidden])");
    await page.waitForSelector("#keys >> text=payments backend");
    expect(await page.textContent("#who")).toContain("olga");
    expect(await page.textContent("#who")).toContain(ORG);
    // Signed in by the cookie: no token was pasted or kept.
    expect(await page.inputValue("#token")).toBe("");
    expect(await page.evaluate(() => sessionStorage.getItem("kw.token"))).toBeNull();
    // Keyward's cookies (by host: a URL filter would also match paths, and the cookie's is /_keyward/).
    const cookies = (await context.cookies()).filter((c) => c.domain === "127.0.0.1");
    const session = cookies.find((c) => c.name === "keyward_session");
    expect(session).toMatchObject({ httpOnly: true, sameSite: "Strict", path: "/_keyward/" });
    expect(session?.value.startsWith(`${ORG}.`)).toBe(true);
    // The flow cookie is gone once the flow is over.
    expect(cookies.find((c) => c.name === "keyward_oidc_state")).toBeUndefined();

    // The session is the provider's user, in that org, with that role.
    const self = await page.evaluate(async () => (await fetch("/_keyward/v1/session")).json());
    expect(self).toMatchObject({ org: ORG, subject: "olga", role: "org:admin", via: "oidc" });
    await screenshot(page, "oidc-signed-in");

    // Sign out ends it on the server: the old cookie is 401 afterwards.
    await page.click("#signout");
    await page.waitForSelector("#signin:not([hidden])");
    const old = await fetch(`${keyward.url}/_keyward/v1/session`, { headers: { cookie: `keyward_session=${session?.value}` } });
    expect(old.status).toBe(401);
    expect(errors.filter((e) => !e.includes("401"))).toEqual([]);
    await context.close();
  });

  it("lands on a page saying what to do when consent is cancelled, or the token names no organisation, signed in to nothing", async () => {
    const cancelled = await signInAtProvider("olga", { consent: false });
    expect(await cancelled.page.textContent("h1")).toBe("You did not allow the console to sign you in");
    expect((await cancelled.context.cookies()).map((c) => c.name)).not.toContain("keyward_session");
    await cancelled.page.click("text=Back to sign-in");
    await cancelled.page.waitForSelector("#signin-idp");
    await cancelled.context.close();

    const orgless = await signInAtProvider("nora");
    expect(await orgless.page.textContent("h1")).toBe("Your account names no organisation");
    expect((await orgless.context.cookies()).map((c) => c.name)).not.toContain("keyward_session");
    await screenshot(orgless.page, "oidc-no-org");
    await orgless.context.close();
  });
});
