/** The admin routes' path parameters and shared replies (admin-routes.ts and the route definitions beside it). */
import type { PathParam } from "../http/route-def";
import { KEY_ID_PATTERN } from "../keys/key-format";
import { keyView } from "./schemas";

// A malformed org or id names nothing that exists: the same 404 as a miss.
export const org: PathParam = { pattern: /^[A-Za-z0-9_-]{1,128}$/, notFound: "No such key in this organisation." };
const keyId: PathParam = { pattern: KEY_ID_PATTERN, notFound: "No such key in this organisation." };
export const deliveryId: PathParam = { pattern: /^msg_[0-9a-f]{20}$/, notFound: "No such delivery for this organisation." };
export const anomalyId: PathParam = { pattern: /^anm_[0-9a-f]{20}$/, notFound: "No such anomaly in this organisation." };
/** A key of the org: both checked. */
export const theKey = { org, id: keyId };
/** The reply of a route that answers the key. */
export const aKey = { status: 200, description: "the key", schema: keyView } as const;
