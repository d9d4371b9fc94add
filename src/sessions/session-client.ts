import { backendUnavailable } from "../errors";
import { randomId } from "../keys/key-format";
import type { Logger } from "../log";
import { withTimeout } from "../timeout";
import type { Authenticated, ConsoleSessions, LinkRefusal, SessionRecord, SignInFlow, TakenFlow } from "./console-sessions";
import { LINK_TTL_MS, type SessionVia, sessionTimes } from "./session-policy";
import { newSecret, secretHash } from "./session-secrets";

export interface SessionClientOptions {
  namespace: DurableObjectNamespace<ConsoleSessions>;
  /** An object that has not answered within this is treated as failed (503). */
  timeoutMs: number;
  log: Logger;
}

/**
 * The ConsoleSessions object that holds sign-ins at the identity provider under
 * way (the org is only known once the provider answers). Not a valid org id (`~`),
 * so it is never an org's object.
 */
export const SIGN_IN_FLOWS = "~oidc-sign-in-flows";

/** Who a new session is for. */
export interface SessionGrant {
  subject: string;
  role: string;
  returnUrl: string | null;
}

/** Typed calls to one organisation's ConsoleSessions object, with a deadline; any failure is 503 (fail closed). */
export interface SessionClient {
  /** Mints a one-time link code; only its hash is stored. */
  mintLink(org: string, grant: SessionGrant, now: number): Promise<{ code: string; expiresAt: number }>;
  /** Uses a link: the new session and its cookie secret, or why not. */
  openLink(org: string, code: string, now: number): Promise<{ ok: true; secret: string; session: SessionRecord } | { ok: false; reason: LinkRefusal }>;
  /** Starts a session for a signed-in user (identity provider); answers its cookie secret. */
  start(org: string, grant: SessionGrant & { via: SessionVia }, now: number): Promise<{ secret: string; session: SessionRecord }>;
  authenticate(org: string, secret: string, now: number): Promise<Authenticated>;
  end(org: string, by: { id: string } | { secret: string }): Promise<boolean>;
  list(org: string, now: number): Promise<SessionRecord[]>;
  /** Stores a sign-in flow at the identity provider (in the SIGN_IN_FLOWS object). */
  beginFlow(flow: SignInFlow): Promise<void>;
  /** Takes a sign-in flow by its state's hash, once. */
  takeFlow(stateHash: string, now: number): Promise<TakenFlow>;
}

export function sessionClient(options: SessionClientOptions): SessionClient {
  const stubFor = (org: string) => options.namespace.get(options.namespace.idFromName(org));
  // Not retried: opening a link and starting a session are not idempotent, and
  // a failed read is cheap to repeat from the console.
  async function call<T>(org: string, op: string, invoke: (stub: DurableObjectStub<ConsoleSessions>) => Promise<T>): Promise<T> {
    try {
      return await withTimeout(invoke(stubFor(org)), options.timeoutMs, "console sessions");
    } catch (error) {
      options.log.error("sessions_call_failed", { op, org, error: error instanceof Error ? error.name : "unknown" });
      throw backendUnavailable("the console's session store");
    }
  }
  return {
    async mintLink(org, grant, now) {
      const code = newSecret();
      const expiresAt = now + LINK_TTL_MS;
      const hash = await secretHash(code);
      await call(org, "mintLink", (stub) => stub.mintLink({ hash, ...grant, createdAt: now, expiresAt }) as Promise<void>);
      return { code, expiresAt };
    },
    async openLink(org, code, now) {
      const secret = newSecret();
      const [hash, sessionHash] = await Promise.all([secretHash(code), secretHash(secret)]);
      const opened = await call(org, "openLink", async (stub) => {
        const answer = await stub.openLink({ hash, id: randomId("ses"), sessionHash, times: sessionTimes(now), now });
        return answer as { ok: true; session: SessionRecord } | { ok: false; reason: LinkRefusal };
      });
      return opened.ok ? { ok: true, secret, session: opened.session } : opened;
    },
    async start(org, grant, now) {
      const secret = newSecret();
      const session: SessionRecord = { id: randomId("ses"), ...grant, ...sessionTimes(now) };
      const hash = await secretHash(secret);
      await call(org, "start", (stub) => stub.start(session, hash) as Promise<void>);
      return { secret, session };
    },
    async authenticate(org, secret, now) {
      const hash = await secretHash(secret);
      return call(org, "authenticate", async (stub): Promise<Authenticated> => (await stub.authenticate(hash, now)) as Authenticated);
    },
    async end(org, by) {
      const key = "id" in by ? { id: by.id } : { hash: await secretHash(by.secret) };
      return call(org, "end", async (stub): Promise<boolean> => await stub.end(key));
    },
    beginFlow: (flow) => call(SIGN_IN_FLOWS, "beginFlow", (stub) => stub.beginFlow(flow) as Promise<void>),
    takeFlow: (stateHash, now) => call(SIGN_IN_FLOWS, "takeFlow", async (stub): Promise<TakenFlow> => (await stub.takeFlow(stateHash, now)) as TakenFlow),
    list: (org, now) => call(org, "list", async (stub): Promise<SessionRecord[]> => (await stub.list(now)) as SessionRecord[]),
  };
}
