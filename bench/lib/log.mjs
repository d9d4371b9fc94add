// @ts-check
// Progress lines go to stderr (stdout carries the report), each stamped with the seconds since the bench started.

const startedAt = Date.now();

/** Writes one progress line to stderr. */
export const log = (...args) => console.error(...args);

/** Seconds since the bench started, as "12s". */
export const elapsed = () => `${((Date.now() - startedAt) / 1000).toFixed(0)}s`;

/** Whole seconds since the bench started (the report's duration). */
export const elapsedSeconds = () => Math.round((Date.now() - startedAt) / 1000);
