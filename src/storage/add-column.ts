/**
 * Adds a column that a later version introduced to a table created by an earlier
 * one. Durable Object storage outlives deploys, and `CREATE TABLE IF NOT EXISTS`
 * leaves an old table as it was. `type` must allow existing rows a value (nullable or DEFAULT).
 * True when the column was added just now (existing rows may need filling).
 */
export function addColumn(sql: SqlStorage, table: string, column: string, type: string): boolean {
  const exists = sql.exec(`SELECT 1 FROM pragma_table_info('${table}') WHERE name = ?`, column).toArray().length > 0;
  if (!exists) sql.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${type}`);
  return !exists;
}
