import type * as z from "zod";
import { KeywardError } from "../errors";
import type { Credits } from "../guard/credits";
import type { GuardClient } from "../guard/guard-client";
import type { GuardStatus } from "../guard/guard-types";
import { orgCreditsSettings } from "../guard/org-credits";
import type { RouteTable } from "../http/route-table";
import { auditEvent } from "../ledger/audit-log";
import type { LedgerClient } from "../ledger/ledger-client";
import type { Actor } from "./admin-auth";
import { deleteOrgCreditsRoute, getOrgCreditsRoute, putOrgCreditsRoute } from "./admin-routes";
import { everyKey } from "./every-key";
import { iso, settingsOfLedger } from "./key-view";
import type { creditsInput } from "./schemas";

export interface OrgCreditsRoutesOptions {
  ledger: LedgerClient;
  guards: GuardClient;
  now: () => number;
}

/** Key guards told of the org credits at a time. */
const ORG_PUSH_BATCH = 50;

/** A balance as the admin API takes it, given now. */
export function creditsOf(input: z.output<typeof creditsInput>, now: number): Credits {
  const refill = input.refill;
  return {
    remaining: input.remaining,
    refill: refill ? { interval: refill.interval, amount: refill.amount, refillDay: refill.interval === "monthly" ? (refill.refillDay ?? 1) : null } : null,
    refilledAt: now,
    ...(input.alertBelow === undefined ? {} : { alertBelow: input.alertBelow }),
  };
}

/** Whether the org has org credits (src/guard/org-credits.ts): asked of the org's guard, which holds them. */
export async function orgHasCredits(guards: GuardClient, org: string): Promise<boolean> {
  return (await guards.status(orgCreditsSettings(org))).credits !== null;
}

const view = (credits: NonNullable<GuardStatus["credits"]>) => ({
  remaining: credits.remaining,
  refill: credits.refill,
  nextRefillAt: iso(credits.nextRefillAt),
  alertBelow: credits.alertBelow ?? null,
});

/**
 * Org credits (operator writes; org admins and the operator read). The org's
 * guard takes the balance first (in force for every admission from then on),
 * the ledger records who did it, then every unrevoked key's guard is told to
 * spend from them, before the call returns. A failure part-way is a 503;
 * repeating the call completes it.
 */
export function orgCreditsRoutes(table: RouteTable<{ actor: Actor; by: string }>, options: OrgCreditsRoutesOptions): void {
  const { ledger, guards } = options;

  async function pushOrgCredits(org: string, on: boolean): Promise<number> {
    const keys = (await everyKey(ledger, org, null, options.now)).filter((k) => k.revokedAt === null);
    for (let i = 0; i < keys.length; i += ORG_PUSH_BATCH) {
      const batch = keys.slice(i, i + ORG_PUSH_BATCH);
      const results = await Promise.allSettled(batch.map((k) => guards.setOrgCredits(settingsOfLedger(k), on ? org : null)));
      const failed = results.filter((r) => r.status === "rejected").length;
      if (failed > 0) {
        throw new KeywardError(
          "AUTH_BACKEND_UNAVAILABLE",
          `${failed} of the org's key guards could not be told of the org credits: repeat this call to complete it.`,
          {
            headers: { "Retry-After": "1" },
          },
        );
      }
    }
    return keys.length;
  }

  table.add(putOrgCreditsRoute, async (c, { params: { org }, who: { by }, body }) => {
    const now = options.now();
    const credits = creditsOf(body, now);
    const status = await guards.putCredits(orgCreditsSettings(org), credits);
    await ledger.recordAudit(org, auditEvent({ at: now, actor: by, requestId: c.get("requestId") }, "org.credits_set", "*", { to: body }));
    const keys = await pushOrgCredits(org, true);
    return { ...view(status.credits ?? { ...credits, nextRefillAt: null }), keys };
  });

  table.add(getOrgCreditsRoute, async (_c, { params: { org } }) => {
    const credits = (await guards.status(orgCreditsSettings(org))).credits;
    if (credits === null) throw new KeywardError("NOT_FOUND", "This organisation has no org credits; its keys spend only their own.");
    return view(credits);
  });

  table.add(deleteOrgCreditsRoute, async (c, { params: { org }, who: { by } }) => {
    const now = options.now();
    await guards.putCredits(orgCreditsSettings(org), null);
    await ledger.recordAudit(org, auditEvent({ at: now, actor: by, requestId: c.get("requestId") }, "org.credits_cleared", "*", {}));
    return { remaining: null, keys: await pushOrgCredits(org, false) };
  });
}
