/**
 * Counts what the bench's Durable Objects do to their storage, for the
 * throughput phase's per-run lines: wakes (constructor runs), SQL statements,
 * rows read and rows written. Every object of a service runs in that service's
 * isolate (workerd), so one module-level tally per isolate covers them all and
 * `/__bench/counters` reads it. Rows are known only once a statement's cursor is
 * consumed, so cursors are kept and summed when the tally is read.
 */
export interface StorageCounts {
  wakes: number;
  statements: number;
  rowsRead: number;
  rowsWritten: number;
  /** setAlarm calls: each a write of its own to the object's storage. */
  alarmSets: number;
}

const tally: StorageCounts = { wakes: 0, statements: 0, rowsRead: 0, rowsWritten: 0, alarmSets: 0 };
let cursors: SqlStorageCursor<Record<string, SqlStorageValue>>[] = [];

/**
 * One wake of an object whose storage is `ctx.storage`; its SQL statements
 * counted from now on. Call before the object's own constructor reads storage.
 */
export function countWake(ctx: DurableObjectState, sql = true): void {
  tally.wakes++;
  if (!sql) return;
  onSetAlarm(ctx.storage, () => tally.alarmSets++);
  const storage = ctx.storage.sql;
  const exec = storage.exec.bind(storage) as SqlStorage["exec"];
  storage.exec = ((query: string, ...bindings: unknown[]) => {
    tally.statements++;
    const cursor = exec(query, ...bindings);
    cursors.push(cursor);
    return cursor;
  }) as SqlStorage["exec"];
}

/** Calls `seen` on each of `storage`'s setAlarm calls (then sets the alarm as asked). */
export function onSetAlarm(storage: DurableObjectStorage, seen: () => void): void {
  const setAlarm = storage.setAlarm.bind(storage);
  storage.setAlarm = (...args: Parameters<typeof setAlarm>) => {
    seen();
    return setAlarm(...args);
  };
}

/** The tally so far (rows of every statement run before this call). */
export function storageCounts(): StorageCounts {
  for (const c of cursors) {
    tally.rowsRead += c.rowsRead;
    tally.rowsWritten += c.rowsWritten;
  }
  cursors = [];
  return { ...tally };
}
