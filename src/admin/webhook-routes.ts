import { backendUnavailable, KeywardError } from "../errors";
import type { RouteTable } from "../http/route-table";
import { auditEvent } from "../ledger/audit-log";
import type { DeliveryView, LedgerClient } from "../ledger/ledger-client";
import { newWebhookSecret } from "../webhooks/deliver";
import { WEBHOOK_EVENTS } from "../webhooks/webhook-events";
import { checkWebhookUrl, type ResolveHost } from "../webhooks/webhook-url";
import type { Actor } from "./admin-auth";
import { deleteWebhookRoute, deliveriesRoute, getWebhookRoute, putWebhookRoute, redeliverRoute } from "./admin-routes";
import { iso } from "./key-view";

export interface WebhookRoutesOptions {
  ledger: LedgerClient;
  /** Resolves a webhook URL's host when it is set (production refuses private addresses). */
  resolveHost: ResolveHost;
  /** Read per call: the route tests mount the admin API without a configuration. */
  production: () => boolean;
  now: () => number;
}

const deliveryView = (d: DeliveryView) => ({
  id: d.id,
  type: d.type,
  status: d.status,
  attempts: d.attempts,
  createdAt: iso(d.createdAt) as string,
  lastAttemptAt: iso(d.lastAttemptAt),
  lastStatus: d.lastStatus,
  lastError: d.lastError,
  nextAttemptAt: d.status === "pending" ? iso(d.nextAt) : null,
});

/**
 * The org's event webhook (docs/webhooks.md) and its deliveries. Admins only:
 * the secret and the receiver decide where the org's key events go.
 */
export function webhookRoutes(table: RouteTable<{ actor: Actor; by: string }>, options: WebhookRoutesOptions): void {
  const { ledger } = options;

  // Saving and removing are audited (key id `*`: org-wide) with the receiver and the
  // events, never the secret. The entry follows the change in a second ledger call, as
  // the org credits' does: a failure between the two is a 503 with the change made.
  table.add(putWebhookRoute, async (c, { params: { org }, who: { by }, body }) => {
    const verdict = await checkWebhookUrl(body.url, { production: options.production(), resolve: options.resolveHost });
    if (!verdict.ok) {
      if ("unavailable" in verdict) throw backendUnavailable("the DNS resolver (to check the webhook URL)", 5);
      throw new KeywardError("INVALID_REQUEST", `url: ${verdict.problem}`, { field: "url" });
    }
    const config = { org, url: verdict.url, events: body.events ?? [...WEBHOOK_EVENTS], secret: newWebhookSecret(), createdAt: options.now() };
    await ledger.setWebhook(org, config);
    const who = { at: config.createdAt, actor: by, requestId: c.get("requestId") };
    await ledger.recordAudit(org, auditEvent(who, "webhook.set", "*", { url: config.url, events: config.events }));
    return { url: config.url, events: config.events, createdAt: iso(config.createdAt) as string, secret: config.secret };
  });

  table.add(getWebhookRoute, async (_c, { params: { org } }) => {
    const hook = await ledger.getWebhook(org);
    if (hook === null) throw new KeywardError("NOT_FOUND", "This organisation has no webhook; PUT one.");
    return { url: hook.url, events: hook.events, createdAt: iso(hook.createdAt) as string };
  });

  table.add(deleteWebhookRoute, async (c, { params: { org }, who: { by } }) => {
    const hook = await ledger.getWebhook(org);
    if (hook === null || !(await ledger.removeWebhook(org))) throw new KeywardError("NOT_FOUND", "This organisation has no webhook.");
    await ledger.recordAudit(org, auditEvent({ at: options.now(), actor: by, requestId: c.get("requestId") }, "webhook.removed", "*", { url: hook.url }));
    return null;
  });

  table.add(deliveriesRoute, async (_c, { params: { org } }) => ({ deliveries: (await ledger.deliveries(org)).map(deliveryView) }));

  table.add(redeliverRoute, async (_c, { params: { org, id } }) => {
    const d = await ledger.redeliver(org, id);
    if (d === null) throw new KeywardError("NOT_FOUND", "No such delivery for this organisation.");
    return deliveryView(d);
  });
}
