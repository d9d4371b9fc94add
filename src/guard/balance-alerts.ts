/** The guard's low-balance events (credits.ts creditAlerts), sent to the org's ledger. */
import { withTimeout } from "../timeout";
import { creditAlerts } from "./credits";
import type { GuardRoom } from "./guard-room";
import { ORG_GUARD_TIMEOUT_MS } from "./org-limit";

/**
 * Raises the low-balance events the balance calls for (credits.ts creditAlerts),
 * once per crossing: the marks go in the balance (written with its next write),
 * the events to the org's ledger, which delivers them to the org's webhook.
 * Off the caller's path (not awaited); a ledger that cannot be reached loses
 * the event, the mark stays (docs/metering.md).
 */
export function raiseAlerts(room: GuardRoom): void {
  const s = room.state;
  if (s?.credits == null) return;
  const { credits, alerts } = creditAlerts(s.credits);
  s.credits = credits;
  if (alerts.length === 0) return;
  const orgGuard = s.keyId.startsWith("org:");
  const org = orgGuard ? s.keyId.slice(4) : (room.org ?? room.reporter.usage.org);
  if (org === null) return;
  const ledger = room.env.ORG_LEDGER.get(room.env.ORG_LEDGER.idFromName(org));
  for (const type of alerts) {
    const data = {
      keyId: orgGuard ? "*" : s.keyId,
      scope: orgGuard ? ("org" as const) : ("key" as const),
      remaining: credits.remaining,
      alertBelow: credits.alertBelow ?? null,
    };
    void withTimeout(Promise.resolve(ledger.raiseCreditAlert(type, data)), ORG_GUARD_TIMEOUT_MS, "org ledger").catch(() => undefined);
  }
}
