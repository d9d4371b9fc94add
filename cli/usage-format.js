// Usage and anomaly output for the terminal: tables and a sparkline, never raw JSON.
import { formatTime, table } from "./format.js";
import { printable } from "./http.js";

/** @import { AnomalyView, UsageBucket } from "../src/admin/api-types" */

const BARS = ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"];

/**
 * A one-line chart of `values` (one character each, scaled to the largest);
 * zero is always the lowest bar, so quiet periods look quiet.
 * @param {number[]} values
 */
export function sparkline(values) {
  const max = Math.max(0, ...values);
  if (max === 0) return "▁".repeat(values.length);
  return values.map((v) => BARS[Math.min(BARS.length - 1, Math.round((v / max) * (BARS.length - 1)))]).join("");
}

/**
 * Refusals of a bucket, all codes together (a value that is not a number counts as none).
 * @param {UsageBucket["refused"] | undefined} refused
 * @returns {number}
 */
const refusedTotal = (refused) => Object.values(refused ?? {}).reduce((n, v) => n + (typeof v === "number" ? v : 0), 0);

/**
 * @param {UsageBucket["refused"] | undefined} refused
 */
function refusedCell(refused) {
  const parts = Object.entries(refused ?? {}).map(([code, n]) => `${printable(code)} ${printable(n)}`);
  return parts.length === 0 ? "-" : parts.join(", ");
}

/**
 * Buckets as a table with a sparkline of admitted and refused above it.
 * @param {UsageBucket[]} buckets
 */
export function usageTable(buckets) {
  if (buckets.length === 0) return "no traffic in this range";
  const admitted = buckets.map((b) => Number(b.admitted) || 0);
  const refused = buckets.map((b) => refusedTotal(b.refused));
  const chart = `admitted ${sparkline(admitted)}\nrefused  ${sparkline(refused)}`;
  const rows = buckets.map((b, i) => [formatTime(b.start), String(admitted[i]), String(refused[i]), refusedCell(b.refused)]);
  return `${chart}\n\n${table(["START", "ADMITTED", "REFUSED", "BY CODE"], rows)}`;
}

/**
 * @param {AnomalyView[]} anomalies
 */
export function anomalyTable(anomalies) {
  return table(
    ["ID", "TYPE", "KEY", "LAST SEEN", "ACKNOWLEDGED", "WHAT"],
    anomalies.map((a) => [
      printable(a.id),
      printable(a.type),
      printable(a.keyId),
      formatTime(a.lastSeenAt),
      a.acknowledgedAt ? `${formatTime(a.acknowledgedAt)} by ${printable(a.acknowledgedBy)}` : "no",
      printable(a.message),
    ]),
  );
}
