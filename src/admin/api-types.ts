import type { RequestOf, ResponseOf } from "../http/route-def";
import type {
  acknowledgeRoute,
  auditRoute,
  createKeyRoute,
  currentSessionRoute,
  deliveriesRoute,
  getKeyRoute,
  getOrgCreditsRoute,
  getWebhookRoute,
  keyUsageRoute,
  listKeysRoute,
  listSessionsRoute,
  meRoute,
  orgUsageRoute,
  putOrgCreditsRoute,
  putWebhookRoute,
  revokeAllRoute,
  revokeKeyRoute,
} from "./admin-routes";

/**
 * The admin API's request and response shapes as TypeScript types, read off the
 * route definitions (admin-routes.ts) whose schemas validate the requests and
 * generate the OpenAPI document. Type-only: the console's browser program
 * imports these instead of retyping them.
 */
export type KeyView = ResponseOf<typeof getKeyRoute>;
export type CreatedKey = ResponseOf<typeof createKeyRoute>;
export type KeyList = ResponseOf<typeof listKeysRoute>;
export type AuditList = ResponseOf<typeof auditRoute>;
export type AuditEvent = AuditList["events"][number];
export type Me = ResponseOf<typeof meRoute>;
export type CreateKeyInput = RequestOf<typeof createKeyRoute>;
export type RevokeInput = RequestOf<typeof revokeKeyRoute>;
export type KeyUsage = ResponseOf<typeof keyUsageRoute>;
export type OrgUsage = ResponseOf<typeof orgUsageRoute>;
export type UsageBucket = KeyUsage["buckets"][number];
export type AnomalyView = ResponseOf<typeof acknowledgeRoute>;
// Incident response (console panels/webhooks.ts, panels/kill-switch.ts).
export type WebhookInput = RequestOf<typeof putWebhookRoute>;
export type WebhookView = ResponseOf<typeof getWebhookRoute>;
export type WebhookCreated = ResponseOf<typeof putWebhookRoute>;
export type DeliveryList = ResponseOf<typeof deliveriesRoute>;
export type RevokeAllInput = RequestOf<typeof revokeAllRoute>;
export type RevokeAllResult = ResponseOf<typeof revokeAllRoute>;
// Console sessions (console main.ts).
export type SessionSelf = ResponseOf<typeof currentSessionRoute>;
export type SessionList = ResponseOf<typeof listSessionsRoute>;
// Org credits (console panels/org-credits.ts).
export type OrgCreditsView = ResponseOf<typeof getOrgCreditsRoute>;
export type OrgCreditsInput = RequestOf<typeof putOrgCreditsRoute>;
