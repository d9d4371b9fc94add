import type { KeyView } from "../../admin/api-types";

/** What the list shows: search text, status and environment filters. Pure, so it is easy to test. */
export interface KeyFilter {
  query: string;
  status: "all" | KeyView["status"] | "scheduled";
  environment: "all" | KeyView["environment"];
}

export const DEFAULT_FILTER: KeyFilter = { query: "", status: "active", environment: "all" };

/** A key whose revocation is scheduled but not yet in force. */
export const isScheduled = (k: KeyView) => k.status === "active" && k.revokeAt !== null;

export function matches(k: KeyView, f: KeyFilter): boolean {
  const q = f.query.trim().toLowerCase();
  if (q !== "" && !k.label.toLowerCase().includes(q) && !k.prefix.toLowerCase().includes(q) && k.id !== q) return false;
  if (f.environment !== "all" && k.environment !== f.environment) return false;
  if (f.status === "all") return true;
  if (f.status === "scheduled") return isScheduled(k);
  return k.status === f.status;
}

/** Newest first; the API's order is not promised. */
export function filterKeys(keys: readonly KeyView[], f: KeyFilter): KeyView[] {
  return keys.filter((k) => matches(k, f)).sort((a, b) => b.createdAt.localeCompare(a.createdAt) || a.id.localeCompare(b.id));
}

export interface Page<T> {
  items: T[];
  /** 0-based page shown (clamped to the last page). */
  page: number;
  pages: number;
  /** 1-based index of the first item shown, 0 when empty. */
  from: number;
  to: number;
  total: number;
}

export function pageOf<T>(items: readonly T[], page: number, size: number): Page<T> {
  const pages = Math.max(1, Math.ceil(items.length / size));
  const p = Math.min(Math.max(0, page), pages - 1);
  const slice = items.slice(p * size, p * size + size);
  return { items: slice, page: p, pages, from: slice.length ? p * size + 1 : 0, to: p * size + slice.length, total: items.length };
}

export function countBy(keys: readonly KeyView[]): Record<KeyFilter["status"], number> {
  const counts: Record<KeyFilter["status"], number> = { all: keys.length, active: 0, disabled: 0, revoked: 0, expired: 0, scheduled: 0 };
  for (const k of keys) {
    counts[k.status]++;
    if (isScheduled(k)) counts.scheduled++;
  }
  return counts;
}
