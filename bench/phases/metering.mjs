// @ts-check
// Metering: rows per admitted request of plain credits against a metered route
// (holds written with their balance), from each guard's own count after the
// throughput phase, once the settlements (waitUntil) have landed.
import { log } from "../lib/log.mjs";
import { json } from "../lib/measure.mjs";

/**
 * Reads the credits and metered scenarios' guards; returns their rows per admitted request.
 * @param {import("./setup.mjs").Bench} bench
 * @param {import("./scenarios.mjs").Scenarios} scenarioSet
 */
export async function readMetering({ base, keys }, { scenarios, allScenarios }) {
  const metering = {};
  for (const [id, service, record] of [
    ["keyward-hot-credits", "keyward-hot", keys.credited.record],
    ["keyward-hot-metered", "keyward-metered", keys.metered.record],
  ]) {
    if (!allScenarios.some((s) => s.id === id) || !scenarios.some((s) => s.id === id)) continue;
    const [status] = await json(`${base(service)}/__bench/guards`, { method: "POST", body: JSON.stringify([record]) });
    metering[id] = {
      admitted: status.admitted,
      rowsWritten: status.rowsWritten,
      rowsPerAdmitted: status.rowsWritten / Math.max(1, status.admitted),
      holdsOpen: status.holdsOpen ?? 0,
    };
    log(
      `rows per admitted request, ${id}: ${metering[id].rowsPerAdmitted.toFixed(3)} (${status.rowsWritten} rows, ${status.admitted} admitted, ${metering[id].holdsOpen} holds open)`,
    );
  }
  return metering;
}
