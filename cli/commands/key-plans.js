// `keyward keys credits|disable|enable`: a key's balance, and suspending it.
import { creditsRoute, disableKeyRoute, enableKeyRoute } from "../../src/admin/route-refs.js";
import { callRoute, operatorOrUserToken } from "../admin-call.js";
import { defineCommand } from "../command.js";
import { usageError } from "../errors.js";
import { allOf, inWords, oneOf, optionalInteger } from "../option-values.js";
import { KEY_ID, ORG, printKey } from "./common.js";

/** @import * as routes from "../../src/admin/admin-routes" */
/** @import { RequestOf } from "../../src/http/route-def" */

/** The balance operations, as the server's route spells them. */
const OPERATIONS = allOf(
  /** @satisfies {Record<RequestOf<typeof routes.creditsRoute>["operation"], true>} */ ({ set: true, increment: true, decrement: true }),
);

export const keysCredits = defineCommand({
  name: "keys credits",
  summary: "Set, increment or decrement a key's credits",
  description: `Changes a key's credits; the guard applies it in order with the key's traffic, in
force on the next request. --op set (default) without --value makes the key
unlimited and clears its refill. Uses --token / KEYWARD_TOKEN (an org admin),
else the operator token.`,
  options: {
    org: ORG,
    id: KEY_ID,
    op: { type: "string", value: "OP", help: `${inWords(OPERATIONS)} (default set)` },
    value: { type: "string", value: "N", help: "Credits (integer >= 0); required for increment/decrement" },
  },
  globals: ["url", "token", "json"],
  async run(ctx) {
    const operation = oneOf(ctx, "op", OPERATIONS) ?? "set";
    const value = optionalInteger(ctx, "value", 0);
    if (value === undefined && operation !== "set") throw usageError(`--value is required for ${operation}`, ctx.usage);
    /** @type {RequestOf<typeof routes.creditsRoute>} */
    const body = value === undefined ? { operation } : { operation, value };
    const params = { org: ctx.values.org, id: ctx.values.id };
    printKey(ctx, await callRoute(ctx, creditsRoute, { params, body, token: operatorOrUserToken(ctx) }));
  },
});

/**
 * `keys disable` or `keys enable`: the same call but for its last word.
 * @param {"disable" | "enable"} action
 * @param {string} summary
 * @param {string} description
 */
function suspendCommand(action, summary, description) {
  return defineCommand({
    name: `keys ${action}`,
    summary,
    description,
    options: { org: ORG, id: KEY_ID },
    globals: ["url", "token", "json"],
    async run(ctx) {
      const input = { params: { org: ctx.values.org, id: ctx.values.id }, body: {}, token: operatorOrUserToken(ctx) };
      printKey(ctx, await (action === "disable" ? callRoute(ctx, disableKeyRoute, input) : callRoute(ctx, enableKeyRoute, input)));
    },
  });
}

export const keysDisable = suspendCommand(
  "disable",
  "Suspend a key (403 KEY_DISABLED until enabled)",
  `Suspends a key: 403 KEY_DISABLED from the next request, nothing consumed, until
\`keyward keys enable\`. Uses --token / KEYWARD_TOKEN (an org admin), else the operator token.`,
);

export const keysEnable = suspendCommand("enable", "Resume a suspended key", "Resumes a suspended key, with its window and balance as they were.");
