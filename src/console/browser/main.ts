import type { Me } from "../../admin/api-types";
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

interface Session {
  controller: AbortController;
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
  sessionBar.hidden = true;
  app.hidden = true;
  signinSection.hidden = false;
  signinReason.textContent = reason ?? "";
  signinReason.hidden = reason === null;
  if (ended && location.hash) history.replaceState(null, "", location.pathname);
  focus.focus();
}

function startSession(api: AdminClient, controller: AbortController, me: Me): void {
  const current: Session = { controller, panels: [], expiry: null, current: null };
  session = current;
  const ctx: ConsoleContext = {
    api,
    org: api.org,
    me,
    notify,
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
  if (me.tokenExpiresAt !== null) {
    const left = Date.parse(me.tokenExpiresAt) - Date.now();
    const at = new Date(me.tokenExpiresAt).toLocaleTimeString();
    current.expiry = setTimeout(
      () => endSession(`Your token expired at ${at}. Sign in again with a new token.`, tokenInput),
      Math.min(Math.max(left, 0), MAX_TIMER_MS),
    );
  }
  who.replaceChildren(me.subject ?? "operator", " · ", h("strong", null, api.org));
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

async function signIn(org: string, token: string): Promise<void> {
  endSession(null, submit);
  const controller = new AbortController();
  const api = new AdminClient({
    org,
    token,
    signal: controller.signal,
    // After sign-in, a 401 means the token expired or was withdrawn: back to sign-in, saying why.
    onUnauthorized: (error) => {
      if (session?.controller === controller) endSession(`Signed out: ${error.message}`, tokenInput);
    },
  });
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
    notify.problem(new ApiError("INVALID_REQUEST", "Admin token: paste a user token (see “How do I get a token?”).", 400, null, "token"), () => tokenInput);
    return;
  }
  orgInput.removeAttribute("aria-invalid");
  tokenInput.removeAttribute("aria-invalid");
  void signIn(org, token);
});

byId("signout", HTMLButtonElement).addEventListener("click", () => endSession("You signed out.", orgInput));
byId("switch-org", HTMLButtonElement).addEventListener("click", () => {
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
  signinTitle.focus();
}
