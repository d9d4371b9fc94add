import type { AuditEvent } from "../../admin/api-types";
import { when } from "./dom";
import { auditSentences } from "./extensions";

/** Names for the actions the API records today; others (added by later features) are spelled out from their id. */
export const ACTION_NAMES: Record<string, string> = {
  "key.created": "Key created",
  "key.revoked": "Key revoked",
  "key.revocation_scheduled": "Revocation scheduled",
  "key.rate_limit_changed": "Rate limit changed",
  "key.rolled": "Key rolled",
  "key.previous_secret_leaked": "Old secret reported leaked",
};

export const actionName = (action: string) => ACTION_NAMES[action] ?? action.replace(/^key\./, "key ").replace(/[._]/g, " ");

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
