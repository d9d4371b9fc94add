import type { WebhookEventType } from "../webhooks/webhook-events";
import type { AuditAction } from "./audit-actions";
import { foldRepeat } from "./audit-pages";

export type { AuditAction } from "./audit-actions";

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
  "key.rolled": "key.rolled",
};

/**
 * Appends one event, or counts a repeated `key.leak_reported_again` in the entry
 * of the same key made less than a minute before (audit-pages.ts foldRepeat: the
 * one change the log ever makes to a row, its count). Nothing else updates or
 * deletes an audit row. Answers the webhook event the entry also is (null: none),
 * for the caller to queue.
 */
export function appendAudit(sql: SqlStorage, event: AuditEvent): { type: WebhookEventType; data: { keyId: string } & Record<string, unknown> } | null {
  if (foldRepeat(sql, event)) return null;
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
