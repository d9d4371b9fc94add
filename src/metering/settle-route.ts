import { KeywardError } from "../errors";
import { MAX_CHARGE } from "./charge-header";
import type { SettleResult } from "./holds";
import type { HoldRef } from "./settle-token";

/** The body of POST /_keyward/v1/settle is tiny; anything longer is not a settlement. */
const MAX_BODY_BYTES = 1024;

export interface SettleRouteOptions {
  verify: (token: string) => Promise<HoldRef | null>;
  /** Settles the hold of request `requestId` on key `keyId`, exactly once (the key's guard decides). */
  settle: (hold: HoldRef, charge: number) => Promise<SettleResult>;
}

const badBody = (message: string) => new KeywardError("INVALID_REQUEST", `charge: ${message}`, { field: "charge" });

async function readCharge(request: Request): Promise<number> {
  const text = await request.text();
  if (text.length > MAX_BODY_BYTES) throw badBody(`the body must be {"charge": n} and at most ${MAX_BODY_BYTES} bytes`);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw badBody('the body must be JSON: {"charge": n}');
  }
  if (typeof body !== "object" || body === null || Array.isArray(body) || Object.keys(body).some((k) => k !== "charge")) {
    throw badBody('the body must be {"charge": n} and nothing else');
  }
  const charge = (body as { charge?: unknown }).charge;
  if (typeof charge !== "number" || !Number.isInteger(charge) || charge < 0 || charge > MAX_CHARGE) {
    throw badBody(`must be a whole number from 0 to ${MAX_CHARGE}`);
  }
  return charge;
}

/**
 * POST /_keyward/v1/settle: the origin settles a metered request's hold after
 * its response (a stream whose cost is known only at its end), presenting that
 * request's own X-Keyward-Context token (docs/metering.md). The token proves
 * which request, key and org; the key's guard decides the rest: exactly once,
 * and only until the hold expires.
 */
export function settleRoute(options: SettleRouteOptions): (request: Request) => Promise<Response> {
  return async (request) => {
    const match = /^bearer[ \t]+(\S+)[ \t]*$/i.exec((request.headers.get("authorization") ?? "").trim());
    if (!match) {
      throw new KeywardError("MISSING_AUTH_HEADER", 'Send "Authorization: Bearer <the X-Keyward-Context token of the request to settle>".');
    }
    const hold = await options.verify(match[1] as string);
    if (hold === null) {
      throw new KeywardError(
        "INVALID_USER_TOKEN",
        "This is not an X-Keyward-Context token that this Keyward signed. Send the token the metered request arrived with, unchanged.",
        { bearerError: "invalid_token" },
      );
    }
    const charge = await readCharge(request);
    const result = await options.settle(hold, charge);
    switch (result.kind) {
      case "settled":
        return Response.json(
          { requestId: hold.requestId, charged: result.charged, uncharged: result.uncharged, repeated: result.repeated },
          { headers: { "Cache-Control": "no-store" } },
        );
      case "expired":
        throw new KeywardError(
          "HOLD_EXPIRED",
          `This request's hold expired before it was settled and was charged its full reserve (${result.charged}). Settle within the route's holdSeconds.`,
        );
      case "unknown":
        throw new KeywardError(
          "NOT_FOUND",
          "This request holds nothing to settle: its route is not metered, it was already settled from its Keyward-Charge header long ago, or its hold is gone.",
        );
    }
  };
}
