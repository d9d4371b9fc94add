import type { AnomalyFinding, AnomalyType } from "../usage/anomaly-rules";

/** An anomaly flag as the ledger keeps it; open until an admin acknowledges it. */
export interface Anomaly {
  id: string;
  type: AnomalyType;
  keyId: string;
  message: string;
  details: Record<string, unknown>;
  firstSeenAt: number;
  lastSeenAt: number;
  acknowledgedAt: number | null;
  acknowledgedBy: string | null;
}

export type AnomalyStatus = "open" | "acknowledged" | "all";

export function createAnomalyTable(sql: SqlStorage): void {
  sql.exec(`CREATE TABLE IF NOT EXISTS anomalies (
    id TEXT PRIMARY KEY, key_id TEXT NOT NULL, type TEXT NOT NULL, message TEXT NOT NULL, details TEXT NOT NULL,
    first_seen_at INTEGER NOT NULL, last_seen_at INTEGER NOT NULL, acknowledged_at INTEGER, acknowledged_by TEXT)`);
  sql.exec("CREATE INDEX IF NOT EXISTS anomalies_open ON anomalies (key_id, type, acknowledged_at)");
  sql.exec("CREATE INDEX IF NOT EXISTS anomalies_by_last_seen ON anomalies (last_seen_at)");
}

function toAnomaly(row: Record<string, SqlStorageValue>): Anomaly {
  return {
    id: String(row.id),
    type: String(row.type) as AnomalyType,
    keyId: String(row.key_id),
    message: String(row.message),
    details: JSON.parse(String(row.details)) as Record<string, unknown>,
    firstSeenAt: Number(row.first_seen_at),
    lastSeenAt: Number(row.last_seen_at),
    acknowledgedAt: row.acknowledged_at === null ? null : Number(row.acknowledged_at),
    acknowledgedBy: row.acknowledged_by === null ? null : String(row.acknowledged_by),
  };
}

/**
 * Opens a flag, or, when one of the same type is already open for the key,
 * moves its lastSeenAt and replaces its sentence and numbers: one open flag per
 * type per key. `opened` says which happened.
 */
export function upsertAnomaly(sql: SqlStorage, keyId: string, finding: AnomalyFinding, at: number, newId: () => string): { anomaly: Anomaly; opened: boolean } {
  const open = sql.exec("SELECT id FROM anomalies WHERE key_id = ? AND type = ? AND acknowledged_at IS NULL", keyId, finding.type).toArray()[0];
  if (open) {
    sql.exec(
      "UPDATE anomalies SET message = ?, details = ?, last_seen_at = MAX(last_seen_at, ?) WHERE id = ?",
      finding.message,
      JSON.stringify(finding.details),
      at,
      String(open.id),
    );
    return { anomaly: getAnomaly(sql, String(open.id)) as Anomaly, opened: false };
  }
  const id = newId();
  sql.exec(
    "INSERT INTO anomalies (id, key_id, type, message, details, first_seen_at, last_seen_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
    id,
    keyId,
    finding.type,
    finding.message,
    JSON.stringify(finding.details),
    at,
    at,
  );
  return { anomaly: getAnomaly(sql, id) as Anomaly, opened: true };
}

export function getAnomaly(sql: SqlStorage, id: string): Anomaly | null {
  const row = sql.exec("SELECT * FROM anomalies WHERE id = ?", id).toArray()[0];
  return row ? toAnomaly(row) : null;
}

/** The org's flags, most recently seen first (at most `limit`). */
export function listAnomalies(sql: SqlStorage, status: AnomalyStatus, limit: number): Anomaly[] {
  const where = status === "open" ? "WHERE acknowledged_at IS NULL" : status === "acknowledged" ? "WHERE acknowledged_at IS NOT NULL" : "";
  return sql.exec(`SELECT * FROM anomalies ${where} ORDER BY last_seen_at DESC, id LIMIT ?`, limit).toArray().map(toAnomaly);
}

/** Marks a flag acknowledged (the first acknowledgement stands); null when there is no such flag. */
export function acknowledgeAnomaly(sql: SqlStorage, id: string, by: string, at: number): { anomaly: Anomaly; changed: boolean } | null {
  const current = getAnomaly(sql, id);
  if (!current) return null;
  if (current.acknowledgedAt !== null) return { anomaly: current, changed: false };
  sql.exec("UPDATE anomalies SET acknowledged_at = ?, acknowledged_by = ? WHERE id = ?", at, by, id);
  return { anomaly: { ...current, acknowledgedAt: at, acknowledgedBy: by }, changed: true };
}
