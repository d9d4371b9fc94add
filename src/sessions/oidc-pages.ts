import { Hono } from "hono";
import { secretsEqual } from "../admin/admin-auth";
import type { ClaimNames } from "../authz/user-claims";
import type { UserTokenVerifier } from "../authz/user-token";
import { base64url } from "../encoding/bytes";
import type { KeywardEnv } from "../http/keyward-env";
import type { Logger } from "../log";
import type { ConsoleOidcConfig } from "./oidc-config";
import { clearedFlowCookie, FLOW_TTL_MS, flowCookie, readFlowCookie } from "./oidc-flow-cookie";
import { IdentityRefused, identityOf, type SignedInIdentity } from "./oidc-identity";
import { type ProviderClient, ProviderError, type ProviderTokens } from "./oidc-provider-client";
import { refusalText, type SignInRefusal } from "./oidc-refusals";
import type { SessionClient } from "./session-client";
import { isSecret, newSecret, secretHash } from "./session-secrets";
import { PAGE_HEADERS, signedIn, signInPage } from "./sign-in-page";

export interface OidcPagesOptions {
  /** null: signing in with the provider is off (CONSOLE_OIDC_CLIENT_ID unset). */
  config: ConsoleOidcConfig | null;
  provider: ProviderClient | null;
  sessions: SessionClient | undefined;
  verifier: UserTokenVerifier;
  claims: ClaimNames;
  /** Secure cookies: everywhere but development. */
  secure: boolean;
  now: () => number;
  log: Logger;
}

/** Where the provider sends the browser back; registered at the provider as the console's redirect URI. */
export const CALLBACK_PATH = "/_keyward/console/oidc/callback";

const MAX_CODE_CHARS = 2048;

async function challengeOf(verifier: string): Promise<string> {
  return base64url(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier))));
}

/**
 * Signing in to the console with the identity provider, under /_keyward/console:
 * the authorization code flow with PKCE (S256), `state` and `nonce`.
 *
 * GET /oidc/start makes a flow (a random state, nonce and code verifier, kept in
 * the SIGN_IN_FLOWS session store under the state's hash for 10 minutes), sets
 * the flow cookie (the state) and sends the browser to the provider.
 *
 * GET /oidc/callback checks, in this order, before anything is made: the state
 * matches the browser's flow cookie (else nothing is even looked up); the flow
 * is taken from the store, once (a replayed callback finds none, and no code is
 * exchanged twice); the provider answered a code, not an error; the token
 * endpoint exchanges it with the verifier; the ID token is verified with its
 * nonce and carries an org and a role (oidc-identity.ts). Only then is a session
 * made in the org's ConsoleSessions object, exactly as a portal link makes one,
 * and the browser sent to the console. Every refusal is a page saying what to
 * do, removes the flow cookie and sets no session cookie: nothing is half signed in.
 * The only place the browser is ever sent is the provider's discovered
 * authorization endpoint or the console's own path; no address comes from the request.
 */
export function oidcPages(options: OidcPagesOptions): Hono<KeywardEnv> {
  const app = new Hono<KeywardEnv>();
  const { config, secure } = options;
  const name = config?.providerName ?? "the identity provider";
  const page = (refusal: SignInRefusal) =>
    signInPage(refusalText(refusal, name, options.claims), { id: "signin-refused", again: true, setCookies: [clearedFlowCookie(secure)] });

  app.get("/oidc/start", async (c) => {
    if (config === null || options.provider === null) return page("not_configured");
    if (options.sessions === undefined) return page("store_unavailable");
    let authorize: URL;
    try {
      authorize = new URL((await options.provider.endpoints()).authorizationEndpoint);
    } catch (error) {
      if (error instanceof ProviderError) return page(error.failure);
      throw error;
    }
    const now = options.now();
    const [state, nonce, verifier] = [newSecret(), newSecret(), newSecret()];
    // The callback on the host this browser reached Keyward at; the provider only accepts it if it is registered.
    const redirectUri = `${new URL(c.req.url).origin}${CALLBACK_PATH}`;
    try {
      await options.sessions.beginFlow({ stateHash: await secretHash(state), nonce, verifier, redirectUri, createdAt: now, expiresAt: now + FLOW_TTL_MS });
    } catch {
      return page("store_unavailable");
    }
    const params = authorize.searchParams;
    params.set("response_type", "code");
    params.set("client_id", config.clientId);
    params.set("redirect_uri", redirectUri);
    params.set("scope", config.scopes.join(" "));
    params.set("state", state);
    params.set("nonce", nonce);
    params.set("code_challenge", await challengeOf(verifier));
    params.set("code_challenge_method", "S256");
    if (config.resource !== null) params.set("resource", config.resource);
    const headers = new Headers({ ...PAGE_HEADERS, Location: authorize.toString() });
    headers.append("Set-Cookie", flowCookie(state, secure));
    return new Response(null, { status: 302, headers });
  });

  app.get("/oidc/callback", async (c) => {
    if (config === null || options.provider === null) return page("not_configured");
    const sessions = options.sessions;
    if (sessions === undefined) return page("store_unavailable");
    const query = new URL(c.req.url).searchParams;
    const requestId = c.get("requestId");
    const refuse = (refusal: SignInRefusal) => {
      options.log.info("oidc_sign_in_refused", { requestId, refusal });
      return page(refusal);
    };

    // The state must be this browser's: checked before any lookup or provider call (login CSRF).
    const state = query.get("state");
    const own = readFlowCookie(c.req.header("cookie") ?? null, secure);
    if (state === null || own === null || !isSecret(state) || !(await secretsEqual(state, own))) return refuse("state");
    let taken: Awaited<ReturnType<SessionClient["takeFlow"]>>;
    try {
      taken = await sessions.takeFlow(await secretHash(state), options.now());
    } catch {
      return page("store_unavailable");
    }
    if (!taken.ok) return refuse(taken.reason === "expired" ? "flow_expired" : "flow_used");
    const { flow } = taken;

    // RFC 9207: a provider that names itself in the answer must name ours (mix-up defence).
    const iss = query.get("iss");
    if (iss !== null && iss !== config.issuer) return refuse("provider_error");
    const error = query.get("error");
    if (error !== null) return refuse(error === "access_denied" ? "denied" : "provider_error");
    const code = query.get("code");
    if (code === null || code === "" || code.length > MAX_CODE_CHARS) return refuse("provider_error");

    let tokens: ProviderTokens;
    let identity: SignedInIdentity;
    try {
      tokens = await options.provider.exchange({ code, verifier: flow.verifier, redirectUri: flow.redirectUri });
      identity = await identityOf(tokens, { clientId: config.clientId, nonce: flow.nonce }, options.verifier);
    } catch (failure) {
      if (failure instanceof ProviderError) return refuse(failure.failure);
      if (failure instanceof IdentityRefused) {
        options.log.info("oidc_identity_refused", { requestId, detail: failure.message });
        return refuse(failure.refusal);
      }
      throw failure;
    }

    const now = options.now();
    let started: Awaited<ReturnType<SessionClient["start"]>>;
    try {
      started = await sessions.start(identity.org, { subject: identity.subject, role: identity.role, returnUrl: null, via: "oidc" }, now);
    } catch {
      return page("store_unavailable");
    }
    options.log.info("oidc_session_started", { requestId, org: identity.org, session: started.session.id });
    return signedIn(identity.org, started, { secure, now, extraCookies: [clearedFlowCookie(secure)] });
  });
  return app;
}
