import type * as z from "zod";
import type {
  anomalyList,
  anomalyView,
  auditList,
  createdKey,
  createKeyBody,
  errorBody,
  keyList,
  keyUsageView,
  keyView,
  orgUsageView,
  revokeBody,
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
