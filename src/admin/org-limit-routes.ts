import { KeywardError } from "../errors";
import type { GuardClient } from "../guard/guard-client";
import type { OrgLimit } from "../guard/org-limit";
import type { RouteTable } from "../http/route-table";
import { auditEvent } from "../ledger/audit-log";
import type { LedgerClient } from "../ledger/ledger-client";
import type { Actor } from "./admin-auth";
import { deleteOrgLimitRoute, getOrgLimitRoute, putOrgLimitRoute } from "./admin-routes";
import { everyKey } from "./every-key";
import { settingsOfLedger } from "./key-view";

export interface OrgLimitRoutesOptions {
  ledger: LedgerClient;
  guards: GuardClient;
  now: () => number;
}

/** Key guards told of a shared org limit at a time. */
const ORG_PUSH_BATCH = 50;

/**
 * The org's shared rate limit (operator). The ledger records it first, so keys
 * created from now on get it; then every unrevoked key's guard is told, before
 * the call returns. A failure part-way is a 503; repeating the call completes it.
 */
export function orgLimitRoutes(table: RouteTable<{ actor: Actor; by: string }>, options: OrgLimitRoutesOptions): void {
  const { ledger } = options;

  async function pushOrgLimit(org: string, limit: OrgLimit | null): Promise<number> {
    const keys = (await everyKey(ledger, org, null, options.now)).filter((k) => k.revokedAt === null);
    for (let i = 0; i < keys.length; i += ORG_PUSH_BATCH) {
      const batch = keys.slice(i, i + ORG_PUSH_BATCH);
      const results = await Promise.allSettled(batch.map((k) => options.guards.setOrgLimit(settingsOfLedger(k), limit)));
      const failed = results.filter((r) => r.status === "rejected").length;
      if (failed > 0) {
        throw new KeywardError(
          "AUTH_BACKEND_UNAVAILABLE",
          `${failed} of the org's key guards could not be told the shared limit: repeat this call to complete it.`,
          {
            headers: { "Retry-After": "1" },
          },
        );
      }
    }
    return keys.length;
  }

  table.add(putOrgLimitRoute, async (c, { params: { org }, who: { by }, body }) => {
    const current = await ledger.getOrgLimit(org);
    const same = current !== null && current.limit === body.limit && current.windowSeconds === body.windowSeconds;
    const limit: OrgLimit = same ? current : { org, ...body, version: (current?.version ?? 0) + 1 };
    if (!same) {
      const who = { at: options.now(), actor: by, requestId: c.get("requestId") };
      await ledger.setOrgLimit(org, limit, auditEvent(who, "org.rate_limit_set", "*", { from: current, to: body }));
    }
    const keys = await pushOrgLimit(org, limit);
    return { limit: limit.limit, windowSeconds: limit.windowSeconds, keys };
  });

  table.add(deleteOrgLimitRoute, async (c, { params: { org }, who: { by } }) => {
    const current = await ledger.getOrgLimit(org);
    if (current !== null) {
      const who = { at: options.now(), actor: by, requestId: c.get("requestId") };
      await ledger.setOrgLimit(org, null, auditEvent(who, "org.rate_limit_cleared", "*", { from: current }));
    }
    const keys = await pushOrgLimit(org, null);
    return { limit: null, keys };
  });

  table.add(getOrgLimitRoute, async (_c, { params: { org } }) => {
    const current = await ledger.getOrgLimit(org);
    if (current === null) throw new KeywardError("NOT_FOUND", "This organisation has no shared rate limit; its keys have their own limits only.");
    return { limit: current.limit, windowSeconds: current.windowSeconds };
  });
}
