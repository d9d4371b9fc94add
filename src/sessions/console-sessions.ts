import { DurableObject } from "cloudflare:workers";
import { isOpen, LINK_KEEP_MS, renewal, type SessionVia } from "./session-policy";
import { migrateSessions } from "./session-schema";

/** A session as it is stored (the secret's hash is never answered). */
export interface SessionRecord {
  id: string;
  via: SessionVia;
  subject: string;
  role: string;
  returnUrl: string | null;
  createdAt: number;
  seenAt: number;
  idleUntil: number;
  endsAt: number;
}

/** A portal link, as the operator's call mints it. */
export interface PortalLink {
  hash: string;
  subject: string;
  role: string;
  returnUrl: string | null;
  createdAt: number;
  expiresAt: number;
}

/**
 * A sign-in at the identity provider under way (src/sessions/oidc-pages.ts): what
 * the callback needs, found by the SHA-256 of its `state`, usable once.
 */
export interface SignInFlow {
  stateHash: string;
  nonce: string;
  /** The PKCE code verifier: sent to the token endpoint, never to the browser. */
  verifier: string;
  redirectUri: string;
  createdAt: number;
  expiresAt: number;
}

/** What taking a flow answers: the flow (now deleted), or why there is none. */
export type TakenFlow = { ok: true; flow: SignInFlow } | { ok: false; reason: "expired" | "unknown" };

/** Why a link opened nothing. */
export type LinkRefusal = "used" | "expired" | "unknown";

/** What opening a link answers: the new session, or why not. */
export type OpenedLink = { ok: true; session: SessionRecord } | { ok: false; reason: LinkRefusal };

/** What authenticating a cookie answers: the session (and whether this use renewed it), or null when it has ended. */
export type Authenticated = { session: SessionRecord; renewed: boolean } | null;

const CLEANUP_MS = 60 * 60_000;

function sessionOf(row: Record<string, SqlStorageValue>): SessionRecord {
  return {
    id: String(row.id),
    via: String(row.via) as SessionVia,
    subject: String(row.subject),
    role: String(row.role),
    returnUrl: row.return_url === null ? null : String(row.return_url),
    createdAt: Number(row.created_at),
    seenAt: Number(row.seen_at),
    idleUntil: Number(row.idle_until),
    endsAt: Number(row.ends_at),
  };
}

/**
 * One organisation's console sessions and portal links (named by org id). A
 * Durable Object of its own, not the org ledger: ending a session is immediate
 * (every cookie-authenticated call asks here, one RPC, and a deleted row is gone
 * for the next call), and the ledger's own traffic (usage reports, webhooks) does
 * not queue behind sign-ins. Callers pass `now`, so that tests can move time.
 */
export class ConsoleSessions extends DurableObject<unknown> {
  private readonly sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: unknown) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    migrateSessions(ctx.storage);
  }

  /** Stores a portal link's hash until it is used or long expired. */
  async mintLink(link: PortalLink): Promise<void> {
    this.sql.exec(
      "INSERT INTO portal_links (hash, subject, role, return_url, created_at, expires_at, used_at) VALUES (?, ?, ?, ?, ?, ?, NULL)",
      link.hash,
      link.subject,
      link.role,
      link.returnUrl,
      link.createdAt,
      link.expiresAt,
    );
    await this.#scheduleCleanup(link.createdAt);
  }

  /**
   * Uses a link once: marks it used and starts its session in one transaction
   * (an object runs one call at a time, so two visits cannot both win).
   */
  async openLink(input: {
    hash: string;
    id: string;
    sessionHash: string;
    times: Omit<SessionRecord, "id" | "via" | "subject" | "role" | "returnUrl">;
    now: number;
  }): Promise<OpenedLink> {
    const row = this.sql.exec("SELECT * FROM portal_links WHERE hash = ?", input.hash).toArray()[0];
    if (row === undefined) return { ok: false, reason: "unknown" };
    if (row.used_at !== null) return { ok: false, reason: "used" };
    if (input.now >= Number(row.expires_at)) return { ok: false, reason: "expired" };
    const session: SessionRecord = {
      id: input.id,
      via: "portal",
      subject: String(row.subject),
      role: String(row.role),
      returnUrl: row.return_url === null ? null : String(row.return_url),
      ...input.times,
    };
    this.ctx.storage.transactionSync(() => {
      this.sql.exec("UPDATE portal_links SET used_at = ? WHERE hash = ?", input.now, input.hash);
      this.#insert(session, input.sessionHash);
    });
    return { ok: true, session };
  }

  /** Starts a session another way (signing in with the identity provider). */
  async start(session: SessionRecord, hash: string): Promise<void> {
    this.#insert(session, hash);
    await this.#scheduleCleanup(session.createdAt);
  }

  /** Stores a sign-in flow until its callback takes it or it expires. */
  async beginFlow(flow: SignInFlow): Promise<void> {
    this.sql.exec(
      "INSERT INTO oidc_flows (state_hash, nonce, verifier, redirect_uri, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
      flow.stateHash,
      flow.nonce,
      flow.verifier,
      flow.redirectUri,
      flow.createdAt,
      flow.expiresAt,
    );
    await this.#scheduleCleanup(flow.createdAt);
  }

  /**
   * Takes a flow once: it is deleted whatever the outcome, so a replayed callback
   * (the same state and code again) finds nothing, and no code is ever exchanged twice.
   */
  async takeFlow(stateHash: string, now: number): Promise<TakenFlow> {
    const row = this.sql.exec("DELETE FROM oidc_flows WHERE state_hash = ? RETURNING *", stateHash).toArray()[0];
    if (row === undefined) return { ok: false, reason: "unknown" };
    if (now >= Number(row.expires_at)) return { ok: false, reason: "expired" };
    return {
      ok: true,
      flow: {
        stateHash,
        nonce: String(row.nonce),
        verifier: String(row.verifier),
        redirectUri: String(row.redirect_uri),
        createdAt: Number(row.created_at),
        expiresAt: Number(row.expires_at),
      },
    };
  }

  /** The open session whose secret hashes to `hash`, renewed by this use; null (and deleted) once it has ended. */
  async authenticate(hash: string, now: number): Promise<Authenticated> {
    const row = this.sql.exec("SELECT * FROM sessions WHERE hash = ?", hash).toArray()[0];
    if (row === undefined) return null;
    const session = sessionOf(row);
    if (!isOpen(session, now)) {
      this.sql.exec("DELETE FROM sessions WHERE id = ?", session.id);
      return null;
    }
    const idleUntil = renewal(session, now);
    if (idleUntil === null) return { session, renewed: false };
    this.sql.exec("UPDATE sessions SET seen_at = ?, idle_until = ? WHERE id = ?", now, idleUntil, session.id);
    return { session: { ...session, seenAt: now, idleUntil }, renewed: true };
  }

  /** Ends a session by id (an admin) or by its secret's hash (sign-out); answers whether one was open. */
  async end(by: { id: string } | { hash: string }): Promise<boolean> {
    const cursor = "id" in by ? this.sql.exec("DELETE FROM sessions WHERE id = ?", by.id) : this.sql.exec("DELETE FROM sessions WHERE hash = ?", by.hash);
    return cursor.rowsWritten > 0;
  }

  /** The open sessions, newest first. */
  async list(now: number): Promise<SessionRecord[]> {
    return this.sql
      .exec("SELECT * FROM sessions ORDER BY created_at DESC, id")
      .toArray()
      .map(sessionOf)
      .filter((s) => isOpen(s, now));
  }

  /** Drops ended sessions, long-expired links and expired flows; the object's storage ends once nothing is left. */
  async alarm(): Promise<void> {
    const now = Date.now();
    this.sql.exec("DELETE FROM sessions WHERE idle_until <= ? OR ends_at <= ?", now, now);
    this.sql.exec("DELETE FROM portal_links WHERE expires_at <= ?", now - LINK_KEEP_MS);
    this.sql.exec("DELETE FROM oidc_flows WHERE expires_at <= ?", now);
    const left = Number(
      this.sql.exec("SELECT (SELECT COUNT(*) FROM sessions) + (SELECT COUNT(*) FROM portal_links) + (SELECT COUNT(*) FROM oidc_flows) AS n").one().n,
    );
    if (left === 0) {
      await this.ctx.storage.deleteAll();
      // The tables went with everything else; a later call in this same instance needs them.
      migrateSessions(this.ctx.storage);
    } else await this.ctx.storage.setAlarm(now + CLEANUP_MS);
  }

  #insert(session: SessionRecord, hash: string): void {
    this.sql.exec(
      "INSERT INTO sessions (id, hash, via, subject, role, return_url, created_at, seen_at, idle_until, ends_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      session.id,
      hash,
      session.via,
      session.subject,
      session.role,
      session.returnUrl,
      session.createdAt,
      session.seenAt,
      session.idleUntil,
      session.endsAt,
    );
  }

  async #scheduleCleanup(now: number): Promise<void> {
    if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(Math.max(now, Date.now()) + CLEANUP_MS);
  }
}
