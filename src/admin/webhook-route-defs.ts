/** The admin API's webhook routes, defined once (admin-routes.ts re-exports them; webhook-routes.ts mounts them). */
import { defineRoute } from "../http/route-def";
import { deliveryId, org } from "./route-params";
import { deliveryList, deliveryView, webhookBody, webhookCreated, webhookView } from "./webhook-schemas";

export const putWebhookRoute = defineRoute({
  method: "put",
  path: "/orgs/:org/webhook",
  summary: "Set the org's event webhook (org admin or operator); answers the whsec_ signing secret, once",
  access: "orgAdmin",
  params: { org },
  body: { schema: webhookBody, required: true },
  reply: { status: 200, description: "the webhook and its secret", schema: webhookCreated },
});

export const getWebhookRoute = defineRoute({
  method: "get",
  path: "/orgs/:org/webhook",
  summary: "The org's webhook, without its secret (org admin or operator)",
  access: "orgAdmin",
  params: { org },
  reply: { status: 200, description: "the webhook", schema: webhookView },
});

export const deleteWebhookRoute = defineRoute({
  method: "delete",
  path: "/orgs/:org/webhook",
  summary: "Remove the org's webhook (org admin or operator)",
  access: "orgAdmin",
  params: { org },
  reply: { status: 204, description: "removed" },
});

export const deliveriesRoute = defineRoute({
  method: "get",
  path: "/orgs/:org/webhook/deliveries",
  summary: "Recent deliveries with status and attempts (org admin or operator)",
  access: "orgAdmin",
  params: { org },
  reply: { status: 200, description: "deliveries", schema: deliveryList },
});

export const redeliverRoute = defineRoute({
  method: "post",
  path: "/orgs/:org/webhook/deliveries/:id/redeliver",
  summary: "Send a delivery again, same webhook-id, fresh 24 h of retries (org admin or operator)",
  access: "orgAdmin",
  params: { org, id: deliveryId },
  reply: { status: 202, description: "queued", schema: deliveryView },
});
