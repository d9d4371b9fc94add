import type { WebhookEventType } from "../webhooks/webhook-events";
import { type KeyName, withKeyNames } from "./key-names";

/**
 * What the audit log records. `key.creation_rolled_back` follows a `key.created`
 * whose edge-index write failed (the key never worked); `key.rollback_failed`
 * says that undoing it failed too, so the key's row may remain until revoked.
 */
export type AuditAction =
  | "key.created"
  | "key.creation_rolled_back"
  | "key.rollback_failed"
  | "key.revoked"
  | "key.revocation_scheduled"
  | "key.rate_limit_changed"
  | "key.disabled"
  | "key.enabled"
  | "key.credits_changed"
  | "key.meta_changed"
  | "org.rate_limit_set"
  | "org.rate_limit_cleared"
  | "key.leaked"
  | "key.leak_reported_again"
  | "anomaly.acknowledged";

export interface AuditEvent {
  at: number;
  actor: string;
  action: AuditAction;
  keyId: string;
  requestId: string;
  detail: Record<string, unknown>;
}

/** What every audit entry of one admin call shares: when, by whom, under which request. */
export interface AuditContext {
  at: number;
  actor: string;
  requestId: string;
}

/** One audit entry: the one way to build one. `keyId` is `*` for an org-wide change. */
export function auditEvent(context: AuditContext, action: AuditAction, keyId: string, detail: Record<string, unknown> = {}): AuditEvent {
  return { at: context.at, actor: context.actor, action, keyId, requestId: context.requestId, detail };
}

/** Audit actor of what a schedule did on its own (a scheduled revocation coming due). */
export const SCHEDULE_ACTOR = "keyward:schedule";

/** Audit actions that are also webhook events, under the event's name. */
const WEBHOOK_EVENT_OF_ACTION: Partial<Record<AuditAction, WebhookEventType>> = {
  "key.created": "key.created",
  "key.revoked": "key.revoked",
  "key.leaked": "key.leaked",
};

/**
 * Appends one event. Nothing in Keyward updates or deletes an audit row.
 * Answers the webhook event the entry also is (null: none), for the caller to queue.
 */
export function appendAudit(sql: SqlStorage, event: AuditEvent): { type: WebhookEventType; data: { keyId: string } & Record<string, unknown> } | null {
  sql.exec(
    "INSERT INTO audit (at, actor, action, key_id, request_id, detail) VALUES (?, ?, ?, ?, ?, ?)",
    event.at,
    event.actor,
    event.action,
    event.keyId,
    event.requestId,
    JSON.stringify(event.detail),
  );
  const type = WEBHOOK_EVENT_OF_ACTION[event.action];
  return type === undefined ? null : { type, data: { ...event.detail, keyId: event.keyId, actor: event.actor } };
}

/** The latest events, newest first, each with its key's label and prefix. */
export function readAudit(sql: SqlStorage, limit: number): (AuditEvent & KeyName)[] {
  const events = sql
    .exec("SELECT * FROM audit ORDER BY seq DESC LIMIT ?", limit)
    .toArray()
    .map((row) => ({
      at: Number(row.at),
      actor: String(row.actor),
      action: String(row.action) as AuditAction,
      keyId: String(row.key_id),
      requestId: String(row.request_id),
      detail: JSON.parse(String(row.detail)) as Record<string, unknown>,
    }));
  return withKeyNames(sql, events);
}
