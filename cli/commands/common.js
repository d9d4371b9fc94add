// Options and output that several command groups share.
import { expectObject, printJson } from "../admin-call.js";
import { keyView } from "../format.js";
import { allOf } from "../option-values.js";

/** @import { Context } from "../command.js" */
/** @import { KeyView } from "../../src/admin/api-types" */

/** `--org ORG`, required by every admin command. */
export const ORG = /** @type {const} */ ({ type: "string", value: "ORG", help: "Organization id", required: true });
/** `--id KEY_ID`, for the commands on one key. */
export const KEY_ID = /** @type {const} */ ({ type: "string", value: "KEY_ID", help: "Key id (not the key)", required: true });
/** `--limit N --window SECONDS`, a rate limit (rateLimitBody in src/admin/schemas.ts). */
export const RATE_LIMIT = /** @type {const} */ ({
  limit: { type: "string", value: "N", help: "Requests per window (integer >= 0)", required: true },
  window: { type: "string", value: "SECONDS", help: "Window length in seconds (integer >= 1)", required: true },
});

/** A key's environments, as the server's key view spells them. */
export const ENVIRONMENTS = allOf(/** @satisfies {Record<KeyView["environment"], true>} */ ({ live: true, test: true }));

/**
 * Prints an answer that is a key: as `--json`, or as a two-column view.
 * @param {Context} ctx
 * @param {unknown} body
 */
export function printKey(ctx, body) {
  if (ctx.values.json) return printJson(ctx, body);
  /** @type {KeyView} */
  const key = expectObject(body, "the key");
  ctx.io.out(`${keyView(key)}\n`);
}
