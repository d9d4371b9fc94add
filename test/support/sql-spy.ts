/**
 * Watches the SQL an object's code runs, by wrapping its storage's SQL handle in
 * place (the object's constructor and methods take `ctx.storage.sql` itself, so a
 * wrapper passed in would not be seen). Each cursor is read to its end before it
 * is handed on, so that its `rowsRead` and `rowsWritten` are final when `observe`
 * sees them; the code gets the same rows back. Returns the function that restores
 * the handle.
 */
export function watchSql(state: DurableObjectState, observe: (query: string, cursor: { rowsRead: number; rowsWritten: number }) => void): () => void {
  const sql = state.storage.sql;
  const exec = sql.exec;
  sql.exec = ((query: string, ...bindings: unknown[]) => {
    const cursor = exec.call(sql, query, ...bindings);
    const all = cursor.toArray();
    const counts = { rowsRead: cursor.rowsRead, rowsWritten: cursor.rowsWritten };
    observe(query, counts);
    return { ...counts, toArray: () => all, one: () => all[0], [Symbol.iterator]: () => all[Symbol.iterator]() } as unknown as ReturnType<typeof exec>;
  }) as typeof sql.exec;
  return () => {
    sql.exec = exec;
  };
}

/** Runs `run` with the object's SQL watched, and restores the handle whatever happens. */
export function withSqlWatched<T>(state: DurableObjectState, observe: Parameters<typeof watchSql>[1], run: () => T): T {
  const restore = watchSql(state, observe);
  try {
    return run();
  } finally {
    restore();
  }
}
