/**
 * Where a request is admitted for a key in local admission: the Cloudflare
 * location that received it. In development only, X-Keyward-Dev-Location
 * simulates one, so that tests and `npm run dev` show several locations on one
 * machine; production ignores the header (a client must not pick its lease).
 */

import { KeywardError } from "../errors";
import type { KeyRecord } from "../lookup/key-record";

export const DEV_LOCATION_HEADER = "x-keyward-dev-location";

const LOCATION = /^[A-Za-z0-9_-]{1,32}$/;

/** The request's location: request.cf.colo, or in development the dev header when present; null when neither is known. */
export function locationOf(request: Request, development: boolean): string | null {
  if (development) {
    const simulated = request.headers.get(DEV_LOCATION_HEADER);
    if (simulated !== null) {
      if (!LOCATION.test(simulated)) {
        throw new KeywardError("INVALID_REQUEST", `${DEV_LOCATION_HEADER}: must be 1 to 32 letters, digits, '-' or '_' (a simulated location name).`);
      }
      return simulated;
    }
  }
  const colo = (request as { cf?: { colo?: unknown } }).cf?.colo;
  return typeof colo === "string" && LOCATION.test(colo) ? colo : null;
}

/**
 * The location whose lease holder decides this request, or null for the key's
 * guard. Central, whatever the key's setting: a request that consumes nothing
 * (a refused permission: the guard counts it), a key with credits or a metered
 * route (balances and holds stay with the guard, in order with its traffic), and
 * a request whose location is unknown. An org's shared limit is only known to the
 * guard: a holder forwards such a key's requests to it.
 */
export function localAdmissionAt(request: Request, record: KeyRecord, grant: { metering: unknown } | null, development: boolean): string | null {
  if (record.rateLimit.admission !== "local" || grant === null) return null;
  if (grant.metering !== null || (record.credits !== undefined && record.credits !== null)) return null;
  return locationOf(request, development);
}
