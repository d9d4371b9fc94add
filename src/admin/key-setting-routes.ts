import type { Context } from "hono";
import { KeywardError } from "../errors";
import { type CreditOperation, MAX_CREDITS } from "../guard/credits";
import type { GuardClient } from "../guard/guard-client";
import type { CreditsResult, GuardStatus, KeySettings } from "../guard/guard-types";
import { MAIN_WINDOW, type NamedLimit, splitLimits } from "../guard/named-limits";
import type { KeywardEnv } from "../http/keyward-env";
import type { RouteTable } from "../http/route-table";
import { type AuditContext, auditEvent } from "../ledger/audit-log";
import type { LedgerKey, ListedKey } from "../ledger/key-store";
import type { LedgerClient } from "../ledger/ledger-client";
import type { Actor } from "./admin-auth";
import { creditsRoute, disableKeyRoute, enableKeyRoute, keyRateLimitRoute, patchKeyRoute } from "./admin-routes";
import type { ChangeKey } from "./key-change";
import { view } from "./key-view";
import { requireMoneyGrant } from "./money-grants";
import { orgHasCredits } from "./org-credits-routes";

export interface KeySettingRoutesOptions {
  ledger: LedgerClient;
  guards: GuardClient;
  now: () => number;
  /** The key, refused 409 when it is revoked (admin-api.ts). */
  changeableKey(org: string, id: string, now: number): Promise<ListedKey>;
  /** The guard's live status of a key, or null when it cannot answer (informational only). */
  liveStatus(k: LedgerKey): Promise<GuardStatus | null>;
  /** The guard -> ledger -> KV sequence of one change (key-change.ts). */
  changeKey: ChangeKey;
  /** Who makes this call, for its audit entries. */
  whoOf(c: Context<KeywardEnv>, by: string, at: number): AuditContext;
}

/**
 * The changes to a live key's settings: its rate limits, suspend and resume, its
 * label and metadata, and its credits. Each goes guard first (in force for the
 * next request), then the ledger and its audit event, then KV (key-change.ts);
 * a revoked key takes none of them (409, changeableKey).
 */
export function keySettingRoutes(table: RouteTable<{ actor: Actor; by: string }>, options: KeySettingRoutesOptions): void {
  const { ledger, changeableKey, liveStatus, changeKey, whoOf } = options;

  // Rate limits (operator): `{limit, windowSeconds}` is one requests window; `limits` names several,
  // in requests or charged units (named-limits.ts). The guard holds every window; the ledger and KV
  // keep the main one, which is what a listing shows.
  table.add(keyRateLimitRoute, async (c, { params: { org, id }, who: { by }, body }) => {
    const now = options.now();
    const k = await changeableKey(org, id, now);
    const limits: NamedLimit[] = body.limits ?? [
      { name: MAIN_WINDOW, limit: body.limit as number, windowSeconds: body.windowSeconds as number, unit: "requests" },
    ];
    const { main } = splitLimits(limits);
    const before = await liveStatus(k);
    const step = {
      guard: (settings: KeySettings) => options.guards.setLimits(settings, limits),
      // Absent: the key keeps its admission. The guard recalls every lease before setLimits returns (lease-desk.ts).
      ledger: () => ({
        change: { limit: main.limit, windowSeconds: main.windowSeconds, admission: body.admission ?? k.admission },
        action: "key.rate_limit_changed" as const,
        detail: {
          from: before?.limits ?? { limit: k.limit, windowSeconds: k.windowSeconds },
          to: body,
          admission: { from: k.admission, to: body.admission ?? k.admission },
        },
      }),
    };
    const { key } = await changeKey(org, k, whoOf(c, by, now), step, "The new limit is already in force.");
    return view(key, now, await liveStatus(key));
  });

  // Suspend and resume: guard first (in force for the next request), then the
  // ledger and its audit event, then KV. A revoked key is 409 and stays revoked.
  for (const [route, disabled] of [
    [disableKeyRoute, true],
    [enableKeyRoute, false],
  ] as const) {
    table.add(route, async (c, { params: { org, id }, who: { by } }) => {
      const now = options.now();
      const k = await changeableKey(org, id, now);
      const step = {
        guard: (settings: KeySettings) => options.guards.setDisabled(settings, disabled),
        ledger: () => ({ change: { disabledAt: disabled ? now : null }, action: disabled ? ("key.disabled" as const) : ("key.enabled" as const) }),
      };
      const synced = disabled ? "The key is suspended and already refused." : "The key is enabled and already admitted.";
      const { key } = await changeKey(org, k, whoOf(c, by, now), (k.disabledAt !== null) !== disabled ? step : null, synced);
      return view(key, now, await liveStatus(key));
    });
  }

  // Metadata: guard first, so that a gateway whose record is older learns the new
  // meta from the guard on the very next request; then the ledger, then KV.
  // A label alone lives in the ledger only (neither KV nor the guard holds it): one
  // ledger call renames it, with no new version for the edge to catch up with.
  table.add(patchKeyRoute, async (c, { params: { org, id }, who: { by }, body }) => {
    const now = options.now();
    const k = await changeableKey(org, id, now);
    const { meta, label } = body;
    const renamed = label === undefined || label === k.label ? null : { from: k.label, to: label };
    if (meta === undefined) {
      const event = renamed === null ? null : auditEvent(whoOf(c, by, now), "key.renamed", k.id, renamed);
      const key = event === null ? k : ((await ledger.updateKey(org, k.id, { label: renamed?.to ?? k.label }, event)) ?? k);
      return view(key, now, await liveStatus(key));
    }
    const step = {
      guard: (settings: KeySettings) => options.guards.setMeta(settings, meta),
      ledger: () => ({
        change: renamed === null ? { meta } : { meta, label: renamed.to },
        action: "key.meta_changed" as const,
        detail: renamed === null ? { meta } : { meta, label: renamed },
      }),
    };
    const { key } = await changeKey(org, k, whoOf(c, by, now), step, "The new metadata already reaches the origin.");
    return view(key, now, await liveStatus(key));
  });

  // Credits: the guard applies the change in order with the key's traffic (so
  // nothing is lost or counted twice) and answers the new balance; the ledger
  // and KV then take it as their snapshot. Each call is one change: a retry after
  // a failure is a second change, as with any increment.
  table.add(creditsRoute, async (c, { params: { org, id }, who: { actor, by }, body }) => {
    if (body.operation !== "decrement" && actor.kind !== "operator") requireMoneyGrant(actor, body.operation, await orgHasCredits(options.guards, org));
    const now = options.now();
    const k = await changeableKey(org, id, now);
    const change = {
      operation: body.operation,
      ...(body.value === undefined ? {} : { value: body.value }),
      ...(body.alertBelow === undefined ? {} : { alertBelow: body.alertBelow }),
    };
    const step = {
      guard: (settings: KeySettings) => options.guards.adjustCredits(settings, change as CreditOperation),
      ledger: (result: CreditsResult) => {
        if (!result.ok && result.reason === "over_cap") {
          throw new KeywardError(
            "INVALID_REQUEST",
            `value: the balance would be ${result.remaining + (body.value ?? 0)}, over the most a key may hold (${MAX_CREDITS}); it stays ${result.remaining}`,
            { field: "value" },
          );
        }
        if (!result.ok) {
          throw new KeywardError("INVALID_REQUEST", `operation: this key is unlimited; use "set" with a value to give it credits`, { field: "operation" });
        }
        const credits = result.status.credits;
        const snapshot = credits === null ? null : { remaining: credits.remaining, refill: credits.refill, refilledAt: credits.refilledAt };
        return {
          change: { credits: snapshot },
          action: "key.credits_changed" as const,
          detail: { ...body, to: snapshot === null ? "unlimited" : snapshot.remaining },
        };
      },
    };
    const { key, answer } = await changeKey(org, k, whoOf(c, by, now), step, "The new balance is already in force.");
    return view(key, now, answer?.ok ? answer.status : null);
  });
}
