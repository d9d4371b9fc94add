import { Hono } from "hono";
import type { KeywardEnv } from "../http/keyward-env";
import type { Logger } from "../log";
import type { LinkRefusal } from "./console-sessions";
import type { SessionClient } from "./session-client";
import { isSecret } from "./session-secrets";
import { type PageText, signedIn, signInPage } from "./sign-in-page";

export interface PortalPagesOptions {
  sessions: SessionClient | undefined;
  /** Secure cookies: everywhere but development. */
  secure: boolean;
  now: () => number;
  log: Logger;
}

const ORG = /^[A-Za-z0-9_-]{1,128}$/;

const REFUSALS: Record<LinkRefusal | "unavailable", PageText> = {
  used: {
    status: 410,
    title: "This sign-in link has already been used",
    text: "Each link signs in once. Go back to the app you came from and open the API keys page again: it makes a new link.",
  },
  expired: {
    status: 410,
    title: "This sign-in link has expired",
    text: "Links work for 5 minutes. Go back to the app you came from and open the API keys page again: it makes a new link.",
  },
  unknown: {
    status: 404,
    title: "This sign-in link is not valid",
    text: "Check that you opened the whole link, or go back to the app you came from and open the API keys page again.",
  },
  unavailable: {
    status: 503,
    title: "Sign-in is unavailable right now",
    text: "Keyward could not reach its session store. Try the link again in a moment; it has not been used.",
  },
};

function refusalPage(reason: keyof typeof REFUSALS): Response {
  return signInPage(REFUSALS[reason], { id: "link-refused" });
}

/**
 * The console's sign-in pages, mounted under /_keyward/console. A portal link
 * (GET /portal/{org}/{code}) is used here: a fresh session is made with a new
 * secret of our own (never one the browser brought, so a planted cookie cannot
 * be fixed onto the victim's sign-in), its cookie set, and the browser sent on
 * to the console, which finds the session with GET /_keyward/v1/session.
 */
export function portalPages(options: PortalPagesOptions): Hono<KeywardEnv> {
  const app = new Hono<KeywardEnv>();
  app.get("/portal/:org/:code", async (c) => {
    const { org, code } = c.req.param();
    if (!ORG.test(org) || !isSecret(code) || options.sessions === undefined) return refusalPage(options.sessions === undefined ? "unavailable" : "unknown");
    const now = options.now();
    let opened: Awaited<ReturnType<SessionClient["openLink"]>>;
    try {
      opened = await options.sessions.openLink(org, code, now);
    } catch {
      return refusalPage("unavailable");
    }
    if (!opened.ok) {
      options.log.info("portal_link_refused", { requestId: c.get("requestId"), org, reason: opened.reason });
      return refusalPage(opened.reason);
    }
    options.log.info("portal_session_started", { requestId: c.get("requestId"), org, session: opened.session.id });
    return signedIn(org, opened, { secure: options.secure, now });
  });
  return app;
}
