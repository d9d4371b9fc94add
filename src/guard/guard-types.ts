/** What the gateway and the admin API tell a key's guard, and what it answers. */

import type { HoldView } from "../metering/holds";
import type { BucketView, Caller, Locations } from "../usage/usage-book";
import type { Credits } from "./credits";
import type { NamedLimit, WindowState } from "./named-limits";
import type { SettleItem } from "./settle-batcher";

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
  /**
   * The credits the key was given (null or absent: unlimited). Only a guard that
   * has no state yet takes them; after that the guard's own balance is the truth,
   * so a stale or newer record can never restore spent credits.
   */
  credits?: Credits | null;
  /**
   * A limiter with no key behind it (leak reports per client address): its
   * storage is deleted once its window is empty (storage-end.ts). Absent means false.
   */
  endsWhenIdle?: boolean;
}

export interface GuardCheck {
  /** Identifies the request, so that a retried RPC is answered without consuming twice. */
  requestId: string;
  /** false: only ask whether the key may be used (revoked? expired?), consume nothing. */
  consume: boolean;
  /** Credits an admitted request spends (the route policy's cost); default 1. Ignored with `hold`. */
  cost?: number;
  /** A metered route (docs/metering.md): hold `reserve` until settled, or for `holdMs` at most. */
  hold?: { reserve: number; holdMs: number };
  /** An org's guard asked for its credits only (the org has no shared limit): no window is counted. */
  noWindow?: boolean;
  settings: KeySettings;
  /** The key's org, for the guard's usage reports to that org's ledger. */
  org?: string;
  /** The gateway's refusal (a permission or user-token code) when consume is false; counted as such if the key is usable. */
  refusal?: string;
  /** Where the request came from, for usage counting; absent when usage counting is off. */
  caller?: Caller | null;
  /**
   * The tag of the secret the request was made with (guard/key-secrets.ts): the
   * start of the SHA-256 the gateway looked the key up by. A rolled key's guard
   * refuses a replaced secret past its grace, and a check that names none.
   */
  secret?: string;
  /** Header settlements of this key from the caller's isolate, applied before the decision (settle-batcher.ts). */
  settles?: SettleItem[];
}

/** A key's balance as a verdict reports it (for the quota headers and the origin). */
export interface CreditState {
  remaining: number;
  /** What a refill sets the balance to, or null without a refill. */
  refillAmount: number | null;
  /** Epoch ms of the next refill, or null when there is none. */
  nextRefillAt: number | null;
}

export interface RateState {
  limit: number;
  windowSeconds: number;
  remaining: number;
  /** Milliseconds until the oldest admission leaves the window. */
  resetMs: number;
  /** The key's balance after this request; null for a key without credits. */
  credits?: CreditState | null;
  /** The main window's name when the operator named it (absent: "default"). */
  name?: string;
  /** The key's other named windows after this request (absent: none). */
  windows?: WindowState[];
}

export type GuardVerdict =
  | ({
      kind: "admitted";
      /**
       * Present only when the caller's record is older than the guard's state and
       * an admin has set meta here: the current meta as JSON ("null" once removed),
       * so that a change is seen on the next request rather than after KV and
       * isolate caches catch up. (JSON text: RPC types cannot carry `unknown`.)
       */
      metaJson?: string;
    } & RateState)
  | ({ kind: "usable" } & RateState)
  | { kind: "revoked" }
  | { kind: "expired" }
  | { kind: "disabled" }
  | ({
      kind: "exhausted";
      cost: number;
      /** "org": the org's credits refused (src/guard/org-credits.ts); absent: the key's own. */
      scope?: "org";
    } & CreditState)
  | {
      kind: "limited";
      /** "org": the org's shared limit refused (src/guard/org-limit.ts); absent: the key's own. */
      scope?: "org";
      /** The key's window that refused, by name (absent: the main window, unnamed). */
      name?: string;
      /** The refusing window's unit (absent: requests). */
      unit?: "requests" | "charge";
      limit: number;
      windowSeconds: number;
      retryAfterMs: number;
    };

export interface GuardStatus {
  keyId: string;
  version: number;
  revoked: boolean;
  revokedAt: number | null;
  revokeAt: number | null;
  disabled: boolean;
  /** The live balance (after any due refill), or null for an unlimited key. */
  credits: (Credits & { nextRefillAt: number | null }) | null;
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
  /** Calls this key's guard made to its org's guard (a shared org limit, org credits); 0 without them. */
  orgCalls: number;
  /** Metered requests' holds open now, and the most open at once since this instance started. */
  holdsOpen?: number;
  holdsPeak?: number;
  /** Every window, the main one first (absent: the main window only, unnamed). */
  limits?: NamedLimit[];
  /** Metered requests' holds: the open ones and the latest closed (docs/metering.md). */
  holds?: { open: HoldView[]; recent: HoldView[] };
  /** The org whose org credits every admission spends from; null: none. */
  orgCredits?: string | null;
}

/** Refusals the gateway decided without the guard, batched (see usage/refusal-notes.ts). */
export interface GuardNote {
  org: string;
  settings: KeySettings;
  code: string;
  count: number;
  caller: Caller | null;
}

/** A key's usage as its guard holds it. */
export interface GuardUsage {
  buckets: BucketView[];
  lastUsedAt: number | null;
  locations: Locations;
}

/** What a credits change answers: the new state, or why it could not apply. */
export type CreditsResult =
  | { ok: true; status: GuardStatus }
  | { ok: false; reason: "unlimited" }
  /** The change would take the balance over MAX_CREDITS; `remaining` is the balance, unchanged. */
  | { ok: false; reason: "over_cap"; remaining: number };
