// `keyward limit set`: a key's rate limit (operator).
import { keyRateLimitRoute } from "../../src/admin/route-refs.js";
import { callRoute, operatorOrUserToken, userToken } from "../admin-call.js";
import { defineCommand } from "../command.js";
import { CliError } from "../errors.js";
import { integer } from "../option-values.js";
import { KEY_ID, ORG, printKey, RATE_LIMIT } from "./common.js";

/** @import * as routes from "../../src/admin/admin-routes" */
/** @import { RequestOf } from "../../src/http/route-def" */

export const limitSet = defineCommand({
  name: "limit set",
  summary: "Set a key's rate limit (operator token)",
  description: `Sets a key's rate limit: N requests per sliding window of SECONDS. Authenticates
with --token / KEYWARD_TOKEN when given, else the operator token KEYWARD_OPERATOR_TOKEN
(environment, or .dev.vars for a local Keyward).`,
  options: { org: ORG, id: { ...KEY_ID, help: "Key id" }, ...RATE_LIMIT },
  globals: ["url", "token", "json"],
  async run(ctx) {
    /** @type {RequestOf<typeof routes.keyRateLimitRoute>} */
    const body = { limit: integer(ctx, "limit", 0), windowSeconds: integer(ctx, "window", 1) };
    const token = operatorOrUserToken(ctx);
    const usingUserToken = userToken(ctx) !== null;
    let key;
    try {
      key = await callRoute(ctx, keyRateLimitRoute, { params: { org: ctx.values.org, id: ctx.values.id }, body, token });
    } catch (error) {
      if (error instanceof CliError && usingUserToken && (error.status === 401 || error.status === 403)) {
        error.hint = "limit set needs the operator token; it used --token / KEYWARD_TOKEN. Unset KEYWARD_TOKEN to use KEYWARD_OPERATOR_TOKEN.";
      }
      throw error;
    }
    // The server answers with the key's view, its new limit in force.
    printKey(ctx, key);
  },
});
