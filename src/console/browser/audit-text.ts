import type { AuditEvent } from "../../admin/api-types";
import type { AuditAction } from "../../ledger/audit-actions";
import { when } from "./dom";
import { auditSentences } from "./extensions";

/**
 * Every audit action's name, in one style (sentence case: what changed, then how),
 * for the action filter and the fallback sentence. A Record over AuditAction, so a
 * new action does not build until it is named here.
 */
export const ACTION_NAMES: Record<AuditAction, string> = {
  "key.created": "Key created",
  "key.creation_rolled_back": "Key creation rolled back",
  "key.rollback_failed": "Key rollback failed",
  "key.revoked": "Key revoked",
  "key.revocation_scheduled": "Key revocation scheduled",
  "key.rate_limit_changed": "Key rate limit changed",
  "key.disabled": "Key disabled",
  "key.enabled": "Key enabled",
  "key.credits_changed": "Key credits changed",
  "key.meta_changed": "Key metadata changed",
  "key.renamed": "Key renamed",
  "key.rolled": "Key rolled",
  "key.previous_secret_leaked": "Key's old secret reported leaked",
  "key.leaked": "Key reported leaked",
  "key.leak_reported_again": "Key reported leaked again",
  "org.rate_limit_set": "Org rate limit set",
  "org.rate_limit_cleared": "Org rate limit removed",
  "org.credits_set": "Org credits set",
  "org.credits_cleared": "Org credits removed",
  "anomaly.acknowledged": "Anomaly acknowledged",
  "webhook.set": "Webhook saved",
  "webhook.removed": "Webhook removed",
};

/** An action's name; one the console does not know yet (a newer server) is spelled out from its id in the same style. */
export function actionName(action: string): string {
  const known = (ACTION_NAMES as Record<string, string>)[action];
  if (known !== undefined) return known;
  const words = action.replace(/[._]/g, " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const limitText = (v: unknown) =>
  isRecord(v) && typeof v.limit === "number" && typeof v.windowSeconds === "number" ? `${v.limit} requests per ${v.windowSeconds} s` : "?";

/** Any detail as "name: value; …" for people, nested objects flattened (never raw JSON). */
export function plainDetail(detail: Record<string, unknown>, prefix = ""): string {
  const parts: string[] = [];
  for (const [name, value] of Object.entries(detail)) {
    const key = prefix ? `${prefix} ${name}` : name;
    if (isRecord(value)) parts.push(plainDetail(value, key));
    else if (Array.isArray(value)) parts.push(`${key}: ${value.map(String).join(", ") || "none"}`);
    else if (typeof value === "string" && /^\d{4}-\d\d-\d\dT/.test(value)) parts.push(`${key}: ${when(value)}`);
    else parts.push(`${key}: ${String(value)}`);
  }
  return parts.filter(Boolean).join("; ");
}

/** One sentence saying what happened. */
export function describe(event: AuditEvent): string {
  const d = event.detail;
  const custom = auditSentences[event.action];
  if (custom) return custom(event);
  switch (event.action) {
    case "key.created":
      return `Created “${String(d.label ?? "")}” (${String(d.environment ?? "live")})`;
    case "key.revoked":
      return "Revoked: refused from the next request on";
    case "key.revocation_scheduled":
      return typeof d.at === "string" ? `Scheduled revocation for ${when(d.at)}` : "Scheduled revocation";
    case "key.rate_limit_changed":
      return `Rate limit changed from ${limitText(d.from)} to ${limitText(d.to)}`;
    case "key.rolled":
      return `Rolled: new secret ${String(d.prefix ?? "")}…; the old one (${String(d.previousPrefix ?? "")}…) ${
        d.graceSeconds === 0
          ? "refused from the next request"
          : typeof d.previousValidUntil === "string"
            ? `works until ${when(d.previousValidUntil)}`
            : "keeps a grace"
      }`;
    case "org.rate_limit_set":
      return `Org rate limit set to ${limitText(d.to)}${isRecord(d.from) ? ` (was ${limitText(d.from)})` : ""}: shared by every key`;
    case "org.rate_limit_cleared":
      return `Org rate limit removed${isRecord(d.from) ? ` (was ${limitText(d.from)})` : ""}: keys keep their own`;
    case "org.credits_set":
      return isRecord(d.to) && typeof d.to.remaining === "number" ? `Org credits set to ${d.to.remaining}` : "Org credits set";
    case "org.credits_cleared":
      return "Org credits removed: keys spend only their own";
    case "webhook.set":
      return `Webhook saved: ${Array.isArray(d.events) ? d.events.length : "its"} event${Array.isArray(d.events) && d.events.length === 1 ? "" : "s"} go to ${String(d.url ?? "?")}, signed with a new secret`;
    case "webhook.removed":
      return `Webhook removed${typeof d.url === "string" ? `: events no longer go to ${d.url}` : ""}`;
    case "key.previous_secret_leaked":
      return `An old secret (${String(d.previousPrefix ?? "")}…), already refused, was reported leaked${typeof d.url === "string" ? ` at ${d.url}` : ""}; the current secret is unaffected`;
    default: {
      const text = plainDetail(d);
      return text ? `${actionName(event.action)}: ${text}` : actionName(event.action);
    }
  }
}

/** "user:alice" → "alice"; the operator stays "operator". */
export const actorName = (actor: string) => actor.replace(/^user:/, "");
