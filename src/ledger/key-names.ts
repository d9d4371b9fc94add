/**
 * The label and display prefix of the keys a view mentions (busiest keys,
 * anomalies, audit events), read by the ledger in the call that builds the view.
 * A reader then names keys without listing them all, or asking for each.
 */
export interface KeyName {
  /** The key's label; null when the ledger no longer holds the key (a rolled-back creation). */
  keyLabel: string | null;
  keyPrefix: string | null;
}

export const NO_NAME: KeyName = { keyLabel: null, keyPrefix: null };

/** One query, whatever the number of ids: the ids go in as one JSON array. */
export function keyNames(sql: SqlStorage, ids: Iterable<string>): Map<string, KeyName> {
  const unique = [...new Set(ids)];
  const names = new Map<string, KeyName>();
  if (unique.length === 0) return names;
  for (const row of sql.exec("SELECT id, label, prefix FROM keys WHERE id IN (SELECT value FROM json_each(?))", JSON.stringify(unique))) {
    names.set(String(row.id), { keyLabel: String(row.label), keyPrefix: String(row.prefix) });
  }
  return names;
}

/** Each item with its key's name (NO_NAME when the key is gone). */
export function withKeyNames<T extends { keyId: string }>(sql: SqlStorage, items: T[]): (T & KeyName)[] {
  const names = keyNames(
    sql,
    items.map((i) => i.keyId),
  );
  return items.map((i) => ({ ...i, ...(names.get(i.keyId) ?? NO_NAME) }));
}
