// `keyward org limit set|clear`: an org's shared rate limit; `keyward org credits set|clear`: its credits (operator).
import { deleteOrgCreditsRoute, deleteOrgLimitRoute, putOrgCreditsRoute, putOrgLimitRoute } from "../../src/admin/route-refs.js";
import { callRoute, expectObject, operatorToken, printJson } from "../admin-call.js";
import { defineCommand } from "../command.js";
import { printable } from "../http.js";
import { integer, optionalInteger } from "../option-values.js";
import { ORG, RATE_LIMIT } from "./common.js";

/** @import * as routes from "../../src/admin/admin-routes" */
/** @import { Context } from "../command.js" */
/** @import { RequestOf, ResponseOf } from "../../src/http/route-def" */

/**
 * Prints the server's answer (`T`, its route's reply) as `--json` or as a sentence.
 * @template {object} T
 * @param {Context<{ org: typeof ORG }>} ctx
 * @param {unknown} body
 * @param {(result: T) => string} sentence
 */
function printResult(ctx, body, sentence) {
  if (ctx.values.json) return printJson(ctx, body);
  /** @type {T} */
  const result = expectObject(body, "the response");
  ctx.io.out(`${sentence(result)}\n`);
}

export const orgLimitSet = defineCommand({
  name: "org limit set",
  summary: "Set an org's shared rate limit (operator token)",
  description: `Gives the org one sliding window shared by all its keys, on top of each key's
own limit (operator token: KEYWARD_OPERATOR_TOKEN, or .dev.vars locally).`,
  options: { org: ORG, ...RATE_LIMIT },
  // Only the operator token is sent: --token does not apply.
  globals: ["url", "json"],
  async run(ctx) {
    const org = ctx.values.org;
    const token = operatorToken(ctx);
    /** @type {RequestOf<typeof routes.putOrgLimitRoute>} */
    const body = { limit: integer(ctx, "limit", 0), windowSeconds: integer(ctx, "window", 1) };
    const result = await callRoute(ctx, putOrgLimitRoute, { params: { org }, body, token });
    printResult(
      ctx,
      result,
      (/** @type {ResponseOf<typeof routes.putOrgLimitRoute>} */ r) =>
        `org ${printable(org)}: ${printable(r.limit)} requests / ${printable(r.windowSeconds)} s shared by its keys (${printable(r.keys)} keys told)`,
    );
  },
});

export const orgLimitClear = defineCommand({
  name: "org limit clear",
  summary: "Remove an org's shared rate limit (operator token)",
  description: "Removes the org's shared rate limit (operator token).",
  options: { org: ORG },
  globals: ["url", "json"],
  async run(ctx) {
    const org = ctx.values.org;
    const result = await callRoute(ctx, deleteOrgLimitRoute, { params: { org }, token: operatorToken(ctx) });
    printResult(
      ctx,
      result,
      (/** @type {ResponseOf<typeof routes.deleteOrgLimitRoute>} */ r) => `org ${printable(org)} has no shared rate limit now (${printable(r.keys)} keys told)`,
    );
  },
});

export const orgCreditsSet = defineCommand({
  name: "org credits set",
  summary: "Give an org credits all its keys spend from (operator token)",
  description: `Replaces the org's credits (docs/metering.md): every admitted request of every
key of the org spends from them, 429 QUOTA_EXCEEDED at zero. Org admins may then
give their keys credits of their own, as caps inside them (operator token).`,
  options: {
    org: ORG,
    remaining: { type: "string", value: "N", help: "The balance (integer >= 0)", required: true },
    "alert-below": { type: "string", value: "N", help: "Raise credits.low when the balance falls below N" },
  },
  globals: ["url", "json"],
  async run(ctx) {
    const org = ctx.values.org;
    /** @type {RequestOf<typeof routes.putOrgCreditsRoute>} */
    const body = { remaining: integer(ctx, "remaining", 0) };
    const alertBelow = optionalInteger(ctx, "alert-below", 0);
    if (alertBelow !== undefined) body.alertBelow = alertBelow;
    const result = await callRoute(ctx, putOrgCreditsRoute, { params: { org }, body, token: operatorToken(ctx) });
    printResult(
      ctx,
      result,
      (/** @type {ResponseOf<typeof routes.putOrgCreditsRoute>} */ r) =>
        `org ${printable(org)}: ${printable(r.remaining)} org credits, spent by every key (${printable(r.keys)} keys told)`,
    );
  },
});

export const orgCreditsClear = defineCommand({
  name: "org credits clear",
  summary: "Remove an org's credits (operator token)",
  description: "Removes the org's credits: its keys spend only their own again (operator token).",
  options: { org: ORG },
  globals: ["url", "json"],
  async run(ctx) {
    const org = ctx.values.org;
    const result = await callRoute(ctx, deleteOrgCreditsRoute, { params: { org }, token: operatorToken(ctx) });
    printResult(
      ctx,
      result,
      (/** @type {ResponseOf<typeof routes.deleteOrgCreditsRoute>} */ r) => `org ${printable(org)} has no org credits now (${printable(r.keys)} keys told)`,
    );
  },
});
