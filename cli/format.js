// Human-readable output: aligned tables and one-key views. Every value from the
// server goes through `printable` so it cannot drive the terminal.
import { printable } from "./http.js";

/** @import { AuditEvent, KeyView } from "../src/admin/api-types" */

/**
 * A timestamp (ISO string, or epoch milliseconds/seconds) as `YYYY-MM-DD HH:MM:SSZ`.
 * @param {unknown} value
 * @param {string} [empty]  shown for null/undefined
 */
export function formatTime(value, empty = "-") {
  if (value === null || value === undefined || value === "") return empty;
  let ms = Number.NaN;
  if (typeof value === "number") ms = value < 1e11 ? value * 1000 : value;
  else if (typeof value === "string") ms = Date.parse(value);
  if (!Number.isFinite(ms)) return printable(value);
  return new Date(ms)
    .toISOString()
    .replace("T", " ")
    .replace(/\.\d{3}Z$/, "Z");
}

/**
 * @param {unknown} value
 * @param {string} [empty]
 */
function text(value, empty = "-") {
  if (value === null || value === undefined || value === "") return empty;
  if (Array.isArray(value)) return value.length === 0 ? empty : value.map((v) => printable(v)).join(" ");
  if (typeof value === "object") return printable(JSON.stringify(value));
  return printable(value);
}

/**
 * @param {string} value
 * @param {number} max
 */
function truncate(value, max) {
  return value.length > max ? `${value.slice(0, max - 1)}\u2026` : value;
}

/**
 * Columns padded to their widest cell, two spaces apart, no trailing spaces.
 * @param {string[]} headers
 * @param {string[][]} rows
 */
export function table(headers, rows) {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (/** @type {string[]} */ cells) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return [line(headers), ...rows.map(line)].join("\n");
}

/**
 * @param {unknown} rateLimit
 */
function formatRateLimit(rateLimit) {
  if (rateLimit === null || typeof rateLimit !== "object") return "-";
  const { limit, windowSeconds } = /** @type {{ limit?: unknown, windowSeconds?: unknown }} */ (rateLimit);
  return `${text(limit)} requests / ${text(windowSeconds)} s`;
}

/**
 * The "revoked" cell: when it was revoked, or when it is scheduled to be.
 * @param {KeyView} key
 */
function revokedCell(key) {
  if (key.revokedAt !== null && key.revokedAt !== undefined) return formatTime(key.revokedAt);
  if (key.revokeAt !== null && key.revokeAt !== undefined) return `at ${formatTime(key.revokeAt)}`;
  return "-";
}

/**
 * A key's credits: "unlimited", or the balance with its refill.
 * @param {unknown} credits
 */
export function formatCredits(credits) {
  if (credits === null || credits === undefined || typeof credits !== "object") return "unlimited";
  const c = /** @type {{ remaining?: unknown, refill?: { interval?: unknown, amount?: unknown, refillDay?: unknown } | null, nextRefillAt?: unknown }} */ (
    credits
  );
  const refill = c.refill
    ? `, refilled to ${text(c.refill.amount)} ${c.refill.interval === "monthly" ? `monthly on day ${text(c.refill.refillDay)}` : "daily"} (next ${formatTime(c.nextRefillAt)})`
    : "";
  return `${text(c.remaining)} left${refill}`;
}

/**
 * One key as a two-column view (everything but the secret key itself). Fields a
 * server of another version leaves out show as "-" (or their default).
 * @param {KeyView} key
 */
export function keyView(key) {
  /** @type {[string, string][]} */
  const rows = [
    ["id", text(key.id)],
    ["prefix", text(key.prefix)],
    ["label", text(key.label)],
    ["environment", text(key.environment)],
    ["scopes", key.scopes === null || key.scopes === undefined ? "(all)" : text(key.scopes, "(none)")],
    ["status", text(key.status)],
    ["created", formatTime(key.createdAt)],
    ["created by", text(key.createdBy)],
    ["expires", formatTime(key.expiresAt, "never")],
    ["revoked", formatTime(key.revokedAt)],
    ["revoke at", formatTime(key.revokeAt)],
    ["last used", formatTime(key.lastUsedAt, "never")],
    ["rate limit", formatRateLimit(key.rateLimit)],
    ["allowed ips", key.allowedIps === null || key.allowedIps === undefined ? "(any)" : text(key.allowedIps, "(any)")],
    ["credits", formatCredits(key.credits)],
    ["meta", key.meta === null || key.meta === undefined ? "(none)" : text(JSON.stringify(key.meta))],
  ];
  const width = Math.max(...rows.map(([name]) => name.length));
  return rows.map(([name, value]) => `${name.padEnd(width)}  ${value}`).join("\n");
}

/**
 * @param {KeyView[]} keys
 */
export function keyTable(keys) {
  return table(
    ["ID", "PREFIX", "LABEL", "ENV", "STATUS", "CREATED", "LAST USED", "REVOKED"],
    keys.map((k) => [
      text(k.id),
      text(k.prefix),
      truncate(text(k.label), 40),
      text(k.environment),
      text(k.status),
      formatTime(k.createdAt),
      formatTime(k.lastUsedAt, "never"),
      revokedCell(k),
    ]),
  );
}

/**
 * One detail value in words: a rate limit as "100 per 30 s", a time as a time, a
 * list space-separated, another object as "(name=value, …)"; never raw JSON.
 * @param {unknown} value
 * @returns {string}
 */
function detailValue(value) {
  if (value === null || value === undefined) return "none";
  if (Array.isArray(value)) return value.length === 0 ? "none" : value.map(detailValue).join(" ");
  if (typeof value === "object") {
    const entries = Object.entries(value);
    const { limit, windowSeconds } = /** @type {{ limit?: unknown, windowSeconds?: unknown }} */ (value);
    if (entries.length === 2 && limit !== undefined && windowSeconds !== undefined) return `${text(limit)} per ${text(windowSeconds)} s`;
    return `(${entries.map(([k, v]) => `${printable(k)}=${detailValue(v)}`).join(", ")})`;
  }
  if (typeof value === "string" && /^\d{4}-\d\d-\d\dT/.test(value)) return formatTime(value);
  return text(value);
}

/**
 * An audit event's detail as "name=value" pairs, comma-separated.
 * @param {unknown} detail
 */
function detailCell(detail) {
  if (detail === null || detail === undefined) return "-";
  if (typeof detail !== "object" || Array.isArray(detail)) return detailValue(detail);
  const parts = Object.entries(detail).map(([k, v]) => `${printable(k)}=${detailValue(v)}`);
  return parts.length === 0 ? "-" : parts.join(", ");
}

/**
 * @param {AuditEvent[]} events
 */
export function auditTable(events) {
  return table(
    ["AT", "ACTOR", "ACTION", "KEY", "REQUEST", "DETAIL"],
    // A collapsed entry (repeated leak reports within a minute) says how many it stands for.
    events.map((e) => [
      formatTime(e.at),
      text(e.actor),
      text(e.count > 1 ? `${e.action} x${e.count}` : e.action),
      text(e.keyId),
      text(e.requestId),
      detailCell(e.detail),
    ]),
  );
}
