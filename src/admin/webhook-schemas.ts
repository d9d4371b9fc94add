/** The admin API's webhook schemas (PUT/GET …/webhook, …/webhook/deliveries), used by admin-routes.ts. */
import * as z from "zod";
import { WEBHOOK_EVENTS } from "../webhooks/webhook-events";
import { isoTime } from "./schemas";

export const webhookBody = z.strictObject({
  url: z.string().min(1).max(2048).describe("https URL of the receiver (development: http to 127.0.0.1 too)"),
  events: z.array(z.enum(WEBHOOK_EVENTS)).min(1, "must name at least one event").optional().describe("default: every event"),
});

export const webhookView = z.object({ url: z.string(), events: z.array(z.enum(WEBHOOK_EVENTS)), createdAt: isoTime });
export const webhookCreated = webhookView.extend({ secret: z.string().describe("whsec_… signing secret: shown in this response only, never again") });
export const deliveryView = z.object({
  id: z.string().describe("the webhook-id, the same on every attempt"),
  type: z.enum(WEBHOOK_EVENTS),
  status: z.enum(["pending", "delivered", "failed"]),
  attempts: z.number().int(),
  createdAt: isoTime,
  lastAttemptAt: isoTime.nullable(),
  lastStatus: z.number().int().nullable(),
  lastError: z.string().nullable(),
  nextAttemptAt: isoTime.nullable(),
});
export const deliveryList = z.object({ deliveries: z.array(deliveryView) });
