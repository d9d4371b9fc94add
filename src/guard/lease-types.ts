/** What a location's lease holder asks of its key's guard, and what the guard answers (local admission). */
import type { GuardCheck, GuardVerdict, KeySettings } from "./guard-types";
import type { LeaseReport } from "./lease-book";
import type { LeaseGrant } from "./lease-purse";

/** A holder asks for a lease, giving back its previous one (if any) with how it was used. */
export interface LeaseAsk {
  /** The location the holder serves (its name, with the key id). */
  holder: string;
  settings: KeySettings;
  org?: string;
  report: LeaseReport | null;
}

/** A holder gives its lease back unasked (idle or ended, lease-holder.ts): the guard frees what it did not use. */
export interface LeaseReturn {
  holder: string;
  settings: KeySettings;
  org?: string;
  report: LeaseReport;
}

export type LeaseAnswer =
  | { kind: "lease"; grant: LeaseGrant }
  /** The key may not be used (revoked, expired, disabled) or nothing is free (limited): the holder answers this. */
  | { kind: "refused"; verdict: GuardVerdict }
  /** The key has credits or an org limit: those stay central, so the holder forwards the request to the guard. */
  | { kind: "central" };

/** A consuming check that the gateway sends to the holder of the caller's location. */
export interface LocalCheck extends GuardCheck {
  location: string;
}

/** The lease holders' namespace as a guard's recall uses it (structural: the guard need not import the holder class). */
export interface LeaseHolders {
  idFromName(name: string): DurableObjectId;
  get(id: DurableObjectId): { recall(input: { epoch: number }): unknown };
}

/** The guards' namespace as a lease holder uses it (structural, for the same reason). */
export interface LeaseGuards {
  idFromName(name: string): DurableObjectId;
  get(id: DurableObjectId): { lease(ask: LeaseAsk): unknown; returnLease(back: LeaseReturn): unknown; check(input: GuardCheck): unknown };
}
