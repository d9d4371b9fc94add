import { KeywardError } from "../errors";
import type { GuardClient } from "../guard/guard-client";
import { secretTag } from "../guard/key-secrets";
import type { RouteTable } from "../http/route-table";
import { generateKey, hashKey } from "../keys/key-format";
import type { ListedKey } from "../ledger/key-store";
import type { LedgerClient } from "../ledger/ledger-client";
import type { Logger } from "../log";
import type { KeyIndex } from "../lookup/key-index";
import type { Actor } from "./admin-auth";
import { rollKeyRoute } from "./admin-routes";
import { iso, recordOfLedger, settingsOfLedger } from "./key-view";

export interface RollRouteOptions {
  ledger: LedgerClient;
  guards: GuardClient;
  keys: KeyIndex;
  keyTypePrefix: () => string;
  /** The key, refused 409 when it is revoked (admin-api.ts changeableKey). */
  changeableKey: (org: string, id: string, now: number) => Promise<ListedKey>;
  now: () => number;
  log: Logger;
}

/**
 * Rolling a key: a new secret for the same key. In this order, so that a failure
 * part-way never leaves a secret nobody was given as the only one that works:
 * 1. KV gets the new secret's entry (harmless alone: nobody knows that secret yet);
 * 2. the guard takes the roll (from here the new secret works and the old one only
 *    until its grace ends, everywhere, whatever KV says);
 * 3. the ledger takes the new hash and prefix, with the audit event (and the
 *    `key.rolled` webhook event);
 * 4. KV's entry of the old secret is marked with the end of its grace, so that the
 *    gateway refuses it then without asking the guard. Only a shortcut: a failure
 *    here is logged, not answered, since the guard refuses it anyway.
 * A failure at 2 or 3 is 503; rolling again completes it (the guard keeps the
 * grace of the secret the ledger still names, and drops the unrecorded one).
 */
export function rollRoute(table: RouteTable<{ actor: Actor; by: string }>, options: RollRouteOptions): void {
  table.add(rollKeyRoute, async (c, { params: { org, id }, who: { by }, body }) => {
    const now = options.now();
    const old = await options.changeableKey(org, id, now);
    const graceSeconds = body?.graceSeconds ?? 0;
    const until = now + graceSeconds * 1000;
    const { key, displayPrefix } = generateKey(options.keyTypePrefix(), old.environment);
    const hash = await hashKey(key);
    const version = old.version + 1;
    const next = { ...old, hash, prefix: displayPrefix, version };
    const requestId = c.get("requestId");
    try {
      await options.keys.put(hash, recordOfLedger(next, org));
    } catch {
      options.log.error("kv_write_failed", { requestId, org, keyId: id });
      throw new KeywardError("AUTH_BACKEND_UNAVAILABLE", "The edge index (KV) could not be written; nothing was rolled. Retry.", {
        headers: { "Retry-After": "1" },
      });
    }
    await options.guards.roll({ ...settingsOfLedger(old), version }, { replaced: secretTag(old.hash), next: secretTag(hash), until });
    const event = {
      at: now,
      actor: by,
      action: "key.rolled" as const,
      keyId: id,
      requestId,
      detail: { previousPrefix: old.prefix, prefix: displayPrefix, graceSeconds, previousValidUntil: iso(until) },
    };
    const recorded = await options.ledger.updateKey(org, id, { hash, prefix: displayPrefix, version }, event).catch((error: unknown) => {
      options.log.error("roll_unrecorded", { requestId, org, keyId: id });
      throw error instanceof KeywardError
        ? new KeywardError(
            error.code,
            "The key's ledger could not record the roll, so its new secret is not given out. Roll again: the old secret keeps the grace you ask for then.",
            error.options,
          )
        : error;
    });
    if (recorded === null) throw new KeywardError("NOT_FOUND", "No such key in this organisation.");
    // The new entry already holds this version; the ledger's copy is in step with KV.
    await options.ledger.markSynced(org, id, version).catch(() => options.log.error("kv_mark_failed", { requestId, org, keyId: id }));
    try {
      await options.keys.put(old.hash, { ...recordOfLedger(old, org), secretValidUntil: until });
    } catch {
      options.log.error("kv_write_failed", { requestId, org, keyId: id, what: "replaced secret's grace" });
    }
    options.log.info("key_rolled", { requestId, org, keyId: id, by, graceSeconds });
    return { id, key, prefix: displayPrefix, previousValidUntil: iso(until) as string };
  });
}
