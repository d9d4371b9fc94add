import * as z from "zod";
import { UNSAFE_TEXT } from "../identity/identity-headers";

/** Console sessions and portal links (docs/contract.md, "Console sessions"): input and output schemas. */

const isoTime = z.iso.datetime({ offset: true });
const role = z.enum(["org:admin", "org:member"]);

/** An http(s) URL without credentials; the handler refuses plain http outside development. */
const returnUrl = z
  .string()
  .max(2048, "must be at most 2048 characters")
  .refine((text) => {
    try {
      const url = new URL(text);
      return (url.protocol === "https:" || url.protocol === "http:") && url.username === "" && url.password === "";
    } catch {
      return false;
    }
  }, "must be an absolute https URL of your app, without credentials")
  .describe("where the console's 'Back to <app>' link goes; https (http only in development)");

export const portalSessionBody = z.strictObject({
  role: role.describe("what the session may do in the org"),
  // Shown in the audit log and the console, as labels are: no control or bidi characters.
  subject: z
    .string()
    .trim()
    .min(1, "must not be empty")
    .max(200, "must be at most 200 characters")
    .refine((s) => !UNSAFE_TEXT.test(s), "must not contain control characters or bidirectional-control characters (such as U+202E)")
    .describe("who the session is for, as your app knows them (an email, a user id); the audit log names them portal:<subject>"),
  returnUrl: returnUrl.optional(),
});

export const portalSessionCreated = z.object({
  url: z.string().describe("the one-time sign-in link: redirect the customer to it; it works once, within 5 minutes"),
  expiresAt: isoTime.describe("when the link stops working if unused"),
});

export const sessionSelf = z.object({
  id: z.string(),
  org: z.string(),
  subject: z.string(),
  role: z.string(),
  via: z.enum(["portal", "oidc"]),
  createdAt: isoTime,
  expiresAt: isoTime.describe("when the session ends unless used again (each use extends it, up to 12 hours from its start)"),
  returnUrl: z.string().nullable(),
  csrfToken: z.string().describe("send it in X-Keyward-CSRF on every POST, PUT, PATCH and DELETE made with the session cookie"),
});

export const sessionView = z.object({
  id: z.string(),
  subject: z.string(),
  role: z.string(),
  via: z.enum(["portal", "oidc"]),
  createdAt: isoTime,
  lastSeenAt: isoTime,
  expiresAt: isoTime,
});

export const sessionList = z.object({ sessions: z.array(sessionView) });
