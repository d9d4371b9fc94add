/** What the gateway and the admin API tell a key's guard, and what it answers. */

/** A key's security settings as the KV record (or the ledger) knows them. */
export interface KeySettings {
  keyId: string;
  /** Version of these settings; the guard ignores settings older than its own. */
  version: number;
  limit: number;
  windowSeconds: number;
  expiresAt: number | null;
  revoked: boolean;
  revokeAt: number | null;
  /** Suspended by an admin: refused (KEY_DISABLED) until enabled again. Absent means false. */
  disabled?: boolean;
}

export interface GuardCheck {
  /** Identifies the request, so that a retried RPC is answered without consuming twice. */
  requestId: string;
  /** false: only ask whether the key may be used (revoked? expired?), consume nothing. */
  consume: boolean;
  settings: KeySettings;
}

export interface RateState {
  limit: number;
  windowSeconds: number;
  remaining: number;
  /** Milliseconds until the oldest admission leaves the window. */
  resetMs: number;
}

export type GuardVerdict =
  | ({ kind: "admitted" } & RateState)
  | ({ kind: "usable" } & RateState)
  | { kind: "revoked" }
  | { kind: "expired" }
  | { kind: "disabled" }
  | { kind: "limited"; limit: number; windowSeconds: number; retryAfterMs: number };

export interface GuardStatus {
  keyId: string;
  version: number;
  revoked: boolean;
  revokedAt: number | null;
  revokeAt: number | null;
  disabled: boolean;
  limit: number;
  windowSeconds: number;
  lastUsedAt: number | null;
  /** Admissions inside the current window, and how many of them are not yet durable. */
  inWindow: number;
  pending: number;
  /** Storage rows this instance has written since it started (for the cost benchmark). */
  rowsWritten: number;
  admitted: number;
  refused: number;
}
