import type { OrgLimit } from "../guard/org-limit";

/** The org's settings, one row each in `org_settings` (today only its shared rate limit, src/guard/org-limit.ts). */
/** The org's shared rate limit, or null. */
export function readOrgLimit(sql: SqlStorage): OrgLimit | null {
  const row = sql.exec("SELECT value FROM org_settings WHERE name = 'rate_limit'").toArray()[0];
  return row ? (JSON.parse(String(row.value)) as OrgLimit) : null;
}

/** Sets (or, with null, removes) the org's shared rate limit. */
export function writeOrgLimit(sql: SqlStorage, limit: OrgLimit | null): void {
  if (limit === null) sql.exec("DELETE FROM org_settings WHERE name = 'rate_limit'");
  else sql.exec("INSERT OR REPLACE INTO org_settings (name, value) VALUES ('rate_limit', ?)", JSON.stringify(limit));
}
