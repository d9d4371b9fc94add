import type { KeyView } from "../../admin/api-types";
import type { KeyListStatus, KeyPageQuery } from "./api";

/** What the list shows: search text, status and environment filters, all applied by the server. */
export interface KeyFilter {
  query: string;
  status: "all" | KeyListStatus;
  environment: "all" | KeyView["environment"];
}

export const DEFAULT_FILTER: KeyFilter = { query: "", status: "active", environment: "all" };

/** A key that can still be revoked: active, or disabled (suspended is not revoked: its Revoke stays). */
export const revocable = (k: KeyView) => k.status === "active" || k.status === "disabled";

/** A key whose revocation is scheduled but not yet in force. */
export const isScheduled = (k: KeyView) => k.status === "active" && k.revokeAt !== null;

/**
 * Whether a key changed on this page (revoked, scheduled) still belongs under the
 * status filter: a revoked key leaves the active view at once, without a reload.
 */
export function keepsStatus(k: KeyView, f: KeyFilter): boolean {
  if (f.status === "all") return true;
  if (f.status === "revoking") return isScheduled(k);
  return k.status === f.status;
}

/** The listing query for a filter, a page size and the cursor of the page wanted. */
export function pageQuery(f: KeyFilter, limit: number, cursor: string | null): KeyPageQuery {
  const q = f.query.trim();
  return {
    limit,
    q: q === "" ? null : q,
    status: f.status === "all" ? null : f.status,
    environment: f.environment === "all" ? null : f.environment,
    cursor,
  };
}

/**
 * Where the list is among the server's pages: the cursor of the page shown, the
 * cursors of the pages before it (for Previous: the server's cursors only go
 * forward), and the next page's cursor once the page has arrived.
 */
export class Pages {
  /** Cursor of the page shown (null: the first page). */
  cursor: string | null = null;
  /** The answer's nextCursor: null on the last page, or before the page arrived. */
  next: string | null = null;
  private readonly before: (string | null)[] = [];

  /** 0-based number of the page shown. */
  get index(): number {
    return this.before.length;
  }

  arrived(nextCursor: string | null): void {
    this.next = nextCursor;
  }

  /** Moves to the next page; false when there is none. */
  forward(): boolean {
    if (this.next === null) return false;
    this.before.push(this.cursor);
    this.cursor = this.next;
    this.next = null;
    return true;
  }

  /** Moves to the page before; false on the first page. */
  back(): boolean {
    if (this.before.length === 0) return false;
    this.cursor = this.before.pop() ?? null;
    this.next = null;
    return true;
  }

  /** Back to the first page (a new search or filter: old cursors belong to the old listing). */
  reset(): void {
    this.before.length = 0;
    this.cursor = null;
    this.next = null;
  }
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

/** A page of a list held whole in the page (the audit log's 500 latest events). */
export function pageOf<T>(items: readonly T[], page: number, size: number): Page<T> {
  const pages = Math.max(1, Math.ceil(items.length / size));
  const p = Math.min(Math.max(0, page), pages - 1);
  const slice = items.slice(p * size, p * size + size);
  return { items: slice, page: p, pages, from: slice.length ? p * size + 1 : 0, to: p * size + slice.length, total: items.length };
}
