import type * as z from "zod";
import type {
  anomalyList,
  anomalyView,
  auditList,
  createdKey,
  createKeyBody,
  deliveryList,
  errorBody,
  keyList,
  keyUsageView,
  keyView,
  orgUsageView,
  revokeAllBody,
  revokeAllResult,
  revokeBody,
  webhookBody,
  webhookCreated,
  webhookView,
} from "./schemas";

/**
 * The admin API's request and response shapes as TypeScript types, derived from
 * the Zod schemas that validate them and generate the OpenAPI document. Type-only:
 * the console's browser program imports these instead of retyping them.
 */
export type KeyView = z.output<typeof keyView>;
export type CreatedKey = z.output<typeof createdKey>;
export type KeyList = z.output<typeof keyList>;
export type AuditList = z.output<typeof auditList>;
export type AuditEvent = AuditList["events"][number];
export type { Me } from "./me-schema";
export type ErrorBody = z.output<typeof errorBody>;
export type CreateKeyInput = z.input<typeof createKeyBody>;
export type RevokeInput = z.input<typeof revokeBody>;
export type KeyUsage = z.output<typeof keyUsageView>;
export type OrgUsage = z.output<typeof orgUsageView>;
export type UsageBucket = KeyUsage["buckets"][number];
export type AnomalyView = z.output<typeof anomalyView>;
export type AnomalyList = z.output<typeof anomalyList>;
// Incident response (console panels/webhooks.ts, panels/kill-switch.ts).
export type WebhookInput = z.input<typeof webhookBody>;
export type WebhookView = z.output<typeof webhookView>;
export type WebhookCreated = z.output<typeof webhookCreated>;
export type DeliveryList = z.output<typeof deliveryList>;
export type RevokeAllInput = z.input<typeof revokeAllBody>;
export type RevokeAllResult = z.output<typeof revokeAllResult>;
