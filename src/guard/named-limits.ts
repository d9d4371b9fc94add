/**
 * A key's named windows (PUT …/keys/{id}/rate-limit with `limits`): the key's
 * main window (its `limit` and `windowSeconds`, kept exactly as before by the
 * admission log) plus any number of further windows, each exact, in requests or
 * in charged units (docs/metering.md). A 429 names the window that refused.
 */
export interface NamedLimit {
  name: string;
  limit: number;
  windowSeconds: number;
  unit: "requests" | "charge";
}

/** The main window's name when the operator never named it (`{limit, windowSeconds}`), as the headers have always said. */
export const MAIN_WINDOW = "default";

/** The main window and the others: the first `requests` window is the main one. */
export function splitLimits(limits: readonly NamedLimit[]): { main: NamedLimit; extra: NamedLimit[] } {
  const main = limits.find((l) => l.unit === "requests");
  if (main === undefined) throw new Error("named limits without a requests window");
  return { main, extra: limits.filter((l) => l !== main) };
}

/** A window of the key other than its main one, refusing: named in the 429. */
export interface WindowRefusal {
  name: string;
  limit: number;
  windowSeconds: number;
  retryAfterMs: number;
}

/** One named window as a verdict reports it (for the RateLimit headers). */
export interface WindowState {
  name: string;
  limit: number;
  windowSeconds: number;
  remaining: number;
  resetMs: number;
}
