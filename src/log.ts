/**
 * Structured JSON logs, one line per event. Callers pass identifiers (request id,
 * key id, display prefix), never a key, a key's hash, a token or a secret.
 */
export interface Logger {
  info(event: string, fields?: Record<string, unknown>): void;
  error(event: string, fields?: Record<string, unknown>): void;
}

export const consoleLogger: Logger = {
  info: (event, fields) => console.log(JSON.stringify({ level: "info", event, ...fields })),
  error: (event, fields) => console.error(JSON.stringify({ level: "error", event, ...fields })),
};

/** Logs nothing (the benchmark's "no log line" variant). */
export const silentLogger: Logger = { info: () => {}, error: () => {} };
