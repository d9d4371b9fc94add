import type { ClaimNames } from "../authz/user-claims";
import type { IdentityRefusal } from "./oidc-identity";
import type { ProviderFailure } from "./oidc-provider-client";
import type { PageText } from "./sign-in-page";

/** Every way a sign-in at the identity provider ends without a session. */
export type SignInRefusal =
  | ProviderFailure
  | IdentityRefusal
  | "not_configured"
  | "store_unavailable"
  | "state"
  | "flow_used"
  | "flow_expired"
  | "denied"
  | "provider_error";

const NOTHING = "You are not signed in to the console.";

/**
 * The page for each refusal: what happened and what to do, in our own words
 * (nothing the provider or the request said is shown; the log has the detail).
 */
export function refusalText(refusal: SignInRefusal, provider: string, claims: ClaimNames): PageText {
  switch (refusal) {
    case "not_configured":
      return {
        status: 404,
        title: "Signing in with an identity provider is not set up here",
        text: "Sign in on the console's page with a token instead, or ask whoever runs this service to set CONSOLE_OIDC_CLIENT_ID.",
      };
    case "store_unavailable":
      return { status: 503, title: "Sign-in is unavailable right now", text: `Keyward could not reach its session store. ${NOTHING} Try again in a moment.` };
    case "unreachable":
    case "unavailable":
      return {
        status: 503,
        title: `${provider} could not be reached`,
        text: `Keyward could not reach ${provider} to sign you in. ${NOTHING} Try again in a moment.`,
      };
    case "misconfigured":
      return {
        status: 503,
        title: `Signing in with ${provider} is misconfigured`,
        text: `${provider}'s settings do not match Keyward's (its discovery document or its answer). ${NOTHING} Tell whoever runs this service; Keyward's log says what is wrong.`,
      };
    case "state":
      return {
        status: 400,
        title: "This sign-in did not start in this browser",
        text: `The answer from ${provider} does not belong to a sign-in started here (it may have been started again in another tab). ${NOTHING} Start again from the console's sign-in page.`,
      };
    case "flow_used":
      return {
        status: 400,
        title: "This sign-in has already been used",
        text: `Each sign-in finishes once. ${NOTHING} Start again from the console's sign-in page.`,
      };
    case "flow_expired":
      return {
        status: 400,
        title: "This sign-in took too long",
        text: `A sign-in must finish within 10 minutes. ${NOTHING} Start again from the console's sign-in page.`,
      };
    case "denied":
      return {
        status: 403,
        title: "You did not allow the console to sign you in",
        text: `${provider} answered that access was denied (the sign-in or the consent was cancelled). ${NOTHING} Start again and allow it, or sign in with a token.`,
      };
    case "provider_error":
      return {
        status: 400,
        title: `${provider} did not sign you in`,
        text: `${provider} answered with an error instead of a sign-in. ${NOTHING} Start again; if it keeps happening, tell whoever runs this service.`,
      };
    case "code_refused":
      return {
        status: 400,
        title: `${provider} did not accept the sign-in`,
        text: `It refused to exchange the sign-in code (already used, expired, or not issued to this console). ${NOTHING} Start again.`,
      };
    case "token_invalid":
    case "nonce":
    case "subject_mismatch":
      return {
        status: 401,
        title: `${provider}'s answer could not be verified`,
        text: `Its tokens did not pass Keyward's checks (${refusal === "nonce" ? "the ID token was not issued for this sign-in" : refusal === "subject_mismatch" ? "the access token is for another user" : "signature, issuer, audience or expiry"}). ${NOTHING} Start again; if it keeps happening, tell whoever runs this service.`,
      };
    case "no_org":
      return {
        status: 403,
        title: "Your account names no organisation",
        text: `${provider} knows you, but your token carries no organisation (claim "${claims.org}"), so there are no keys to show. ${NOTHING} Ask an admin to add you to your organisation at ${provider}.`,
      };
    case "no_role":
      return {
        status: 403,
        title: "Your account has no role in its organisation",
        text: `${provider} knows you, but your token carries no role (claim "${claims.role}"). ${NOTHING} Ask an admin of your organisation to give you one at ${provider}.`,
      };
  }
}
