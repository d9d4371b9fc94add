import type { Me, SessionSelf } from "../../admin/api-types";
import { currentSessionRoute, signOutRoute } from "../../admin/route-refs.js";
import { AdminClient, ApiError } from "./api";
import { byId, h } from "./dom";
import { pageNotifier, run } from "./notify";
import type { ConsoleContext, Panel, PanelFactory } from "./panel";
import { PANELS } from "./panels/index";

// Settings → API Keys: the shell. It checks the token at sign-in (GET …/me), creates
// the panels for that session, routes between them on the location hash, and throws
// every bit of session state away at sign-out, org switch or token expiry.

const STORE_ORG = "kw.org";
const STORE_TOKEN = "kw.token";
/** setTimeout's longest delay; a token living longer is re-checked by its next 401 anyway. */
const MAX_TIMER_MS = 2_147_000_000;

const notify = pageNotifier();
const signinSection = byId("signin", HTMLElement);
const signinForm = byId("signin-form", HTMLFormElement);
const signinReason = byId("signin-reason", HTMLParagraphElement);
const signinTitle = byId("signin-title", HTMLHeadingElement);
const orgInput = byId("org", HTMLInputElement);
const tokenInput = byId("token", HTMLInputElement);
const submit = byId("signin-submit", HTMLButtonElement);
const app = byId("app", HTMLDivElement);
const nav = byId("nav", HTMLElement);
const views = byId("views", HTMLDivElement);
const sessionBar = byId("session-bar", HTMLDivElement);
const who = byId("who", HTMLSpanElement);
const backToApp = byId("back-to-app", HTMLAnchorElement);
const switchOrg = byId("switch-org", HTMLButtonElement);
/** Set beside the HttpOnly session cookie (src/sessions/session-cookie.ts): a cookie session may be there. */
const HINT = "keyward_console_session";

interface Session {
  controller: AbortController;
  /** Signed in with the session cookie (a portal link or the identity provider), not a pasted token. */
  cookie: SessionSelf | null;
  api: AdminClient;
  panels: { factory: PanelFactory; panel: Panel }[];
  expiry: ReturnType<typeof setTimeout> | null;
  current: Panel | null;
}
let session: Session | null = null;

/** Why a valid token still gets no key view; null when it may manage this org's keys. */
export function refusal(me: Me): string | null {
  if (me.can.listKeys) return null;
  if (me.actor === "operator") return "The operator token manages rate limits only; this page needs an org admin's user token.";
  if (me.tokenOrg !== me.org) {
    return me.tokenOrg === null
      ? `This token names no organisation, so it cannot manage ${me.org}'s keys.`
      : `This token is for organisation ${me.tokenOrg}, not ${me.org}. Sign in to ${me.tokenOrg}, or use a token of ${me.org}.`;
  }
  return `This token belongs to ${me.subject ?? "a user"}, whose role in ${me.org} is ${me.role ?? "none"}. Managing keys needs the org:admin role: ask an admin of your organisation.`;
}

/** Ends the session: aborts its requests, drops its panels and dialogs, forgets the token. */
function endSession(reason: string | null, focus: HTMLElement = orgInput): void {
  const ended = session !== null;
  if (session) {
    session.controller.abort();
    if (session.expiry !== null) clearTimeout(session.expiry);
    session = null;
  }
  sessionStorage.removeItem(STORE_ORG);
  sessionStorage.removeItem(STORE_TOKEN);
  for (const dialog of document.querySelectorAll("dialog")) dialog.remove();
  views.replaceChildren();
  nav.replaceChildren();
  notify.clear();
  tokenInput.value = "";
  who.textContent = "";
  backToApp.hidden = true;
  backToApp.removeAttribute("href");
  sessionBar.hidden = true;
  app.hidden = true;
  signinSection.hidden = false;
  signinReason.textContent = reason ?? "";
  signinReason.hidden = reason === null;
  if (ended && location.hash) history.replaceState(null, "", location.pathname);
  focus.focus();
}

function startSession(api: AdminClient, controller: AbortController, me: Me, cookie: SessionSelf | null = null): void {
  const current: Session = { controller, cookie, api, panels: [], expiry: null, current: null };
  session = current;
  const ctx: ConsoleContext = {
    api,
    org: api.org,
    me,
    notify,
    sessionId: cookie?.id ?? null,
    navigate(hash) {
      if (location.hash === hash) route();
      else location.hash = hash;
    },
    keysChanged() {
      for (const { panel } of current.panels) if (panel !== current.current) panel.keysChanged?.();
    },
  };
  for (const factory of PANELS) {
    if (!factory.available(me)) continue;
    const panel = factory.create(ctx);
    panel.element.hidden = true;
    views.append(panel.element);
    current.panels.push({ factory, panel });
    if (factory.nav) nav.append(h("a", { href: factory.nav.href, "data-route": factory.nav.href }, factory.nav.label));
  }
  // A cookie session is renewed by the server while in use; its end shows as a 401.
  if (me.tokenExpiresAt !== null && cookie === null) {
    const left = Date.parse(me.tokenExpiresAt) - Date.now();
    const at = new Date(me.tokenExpiresAt).toLocaleTimeString();
    current.expiry = setTimeout(
      () => endSession(`Your token expired at ${at}. Sign in again with a new token.`, tokenInput),
      Math.min(Math.max(left, 0), MAX_TIMER_MS),
    );
  }
  who.replaceChildren(me.subject ?? "operator", " · ", h("strong", null, api.org));
  if (cookie?.returnUrl) {
    backToApp.href = cookie.returnUrl;
    backToApp.textContent = `Back to ${new URL(cookie.returnUrl).host}`;
    backToApp.hidden = false;
  }
  // A cookie session is for one org: switching means going back to the app for another link.
  switchOrg.hidden = cookie !== null;
  sessionBar.hidden = false;
  signinSection.hidden = true;
  signinReason.hidden = true;
  app.hidden = false;
  if (!location.hash.startsWith("#/")) history.replaceState(null, "", "#/keys");
  route();
}

/** Shows the panel whose route matches the location hash, and moves focus to its heading. */
function route(): void {
  if (!session) return;
  const [path = "/keys", search = ""] = location.hash.replace(/^#/, "").split("?");
  for (const { factory, panel } of session.panels) {
    const match = path.match(factory.route);
    if (!match) continue;
    for (const other of session.panels) other.panel.element.hidden = other.panel !== panel;
    session.current = panel;
    for (const link of nav.querySelectorAll("a")) {
      if (path.startsWith(link.getAttribute("data-route")?.slice(1) ?? "-")) link.setAttribute("aria-current", "page");
      else link.removeAttribute("aria-current");
    }
    panel.show(match, new URLSearchParams(search));
    panel.element.querySelector<HTMLElement>("[data-focus]")?.focus();
    return;
  }
  history.replaceState(null, "", "#/keys");
  route();
}

/** A client for one sign-in; after it, a 401 means the token expired or the session ended: back to sign-in, saying why. */
function clientFor(org: string, token: string | null, controller: AbortController, csrfToken: string | null = null): AdminClient {
  return new AdminClient({
    org,
    token,
    csrfToken,
    signal: controller.signal,
    onUnauthorized: (error) => {
      if (token === null) clearHint();
      if (session?.controller === controller) endSession(`Signed out: ${error.message}`, tokenInput);
    },
  });
}

function clearHint(): void {
  // biome-ignore lint/suspicious/noDocumentCookie: the hint is a plain flag cookie; Cookie Store API is not everywhere yet.
  document.cookie = `${HINT}=; Path=/_keyward/console; Max-Age=0; SameSite=Strict`;
}

/** Resumes the session of the cookie (set by a portal link or the identity provider's sign-in), if there is one. */
async function resumeCookieSession(): Promise<boolean> {
  if (!document.cookie.split(";").some((c) => c.trim().startsWith(`${HINT}=`))) return false;
  const controller = new AbortController();
  const probe = new AdminClient({ org: "-", token: null, signal: controller.signal });
  let self: SessionSelf;
  try {
    self = await probe.callAny(currentSessionRoute, { params: {} });
  } catch (error) {
    clearHint();
    if (error instanceof ApiError && error.status === 401) endSession("Your session has ended. Open the console from your app again to sign in.");
    else if (error instanceof ApiError) notify.problem(error);
    return error instanceof ApiError && error.status === 401;
  }
  const api = clientFor(self.org, null, controller, self.csrfToken);
  const me = await run(notify, submit, "Signing in…", () => api.me());
  if (me === undefined) return true;
  const refused = refusal(me);
  if (refused !== null) {
    notify.problem(new ApiError("INSUFFICIENT_PERMISSIONS", refused, 403));
    return true;
  }
  orgInput.value = self.org;
  startSession(api, controller, me, self);
  return true;
}

/** Signs out: a cookie session is ended on the server first, so its cookie is worthless afterwards. */
async function signOut(): Promise<void> {
  const current = session;
  if (current?.cookie) {
    try {
      await current.api.callAny(signOutRoute, { params: {} });
    } catch {
      // Already ended (401) or unreachable: the page forgets it either way; the server ends it at its expiry.
    }
    clearHint();
  }
  endSession("You signed out.", orgInput);
}

async function signIn(org: string, token: string): Promise<void> {
  endSession(null, submit);
  const controller = new AbortController();
  const api = clientFor(org, token, controller);
  const me = await run(notify, submit, "Checking token…", () => api.me());
  // A failure is already in the alert region, which has the focus.
  if (me === undefined) return;
  const refused = refusal(me);
  if (refused !== null) {
    notify.problem(new ApiError("INSUFFICIENT_PERMISSIONS", refused, 403));
    return;
  }
  sessionStorage.setItem(STORE_ORG, org);
  sessionStorage.setItem(STORE_TOKEN, token);
  tokenInput.value = "";
  startSession(api, controller, me);
}

signinForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const org = orgInput.value.trim();
  const token = tokenInput.value.trim();
  if (!/^[A-Za-z0-9_-]{1,128}$/.test(org)) {
    notify.problem(new ApiError("INVALID_REQUEST", "Organisation: 1-128 letters, digits, _ or -.", 400, null, "org"), () => orgInput);
    return;
  }
  if (token === "") {
    notify.problem(new ApiError("INVALID_REQUEST", "User token: paste one (see “How do I get a token?”).", 400, null, "token"), () => tokenInput);
    return;
  }
  orgInput.removeAttribute("aria-invalid");
  tokenInput.removeAttribute("aria-invalid");
  void signIn(org, token);
});

byId("signout", HTMLButtonElement).addEventListener("click", () => void signOut());
switchOrg.addEventListener("click", () => {
  orgInput.value = "";
  endSession("Signed out to switch organisation: enter the organisation and a token for it.", orgInput);
});
window.addEventListener("hashchange", route);

// A reload keeps the tab's session, but the token is checked again before anything shows.
const storedOrg = sessionStorage.getItem(STORE_ORG);
const storedToken = sessionStorage.getItem(STORE_TOKEN);
if (storedOrg && storedToken) {
  orgInput.value = storedOrg;
  void signIn(storedOrg, storedToken);
} else {
  void resumeCookieSession().then((tried) => {
    if (!tried) signinTitle.focus();
  });
}
