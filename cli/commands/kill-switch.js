// `keyward keys revoke-all`: the org kill switch.
import { revokeAllRoute } from "../../src/admin/route-refs.js";
import { callRoute, expectObject, printJson } from "../admin-call.js";
import { defineCommand } from "../command.js";
import { usageError } from "../errors.js";
import { printable } from "../http.js";
import { isoTime } from "../option-values.js";
import { ORG } from "./common.js";

/** @import { RevokeAllInput, RevokeAllResult } from "../../src/admin/api-types" */

export const keysRevokeAll = defineCommand({
  name: "keys revoke-all",
  summary: "Org kill switch: revoke every (matching) key of an org now",
  description: `The org kill switch: revokes every key of the org now (or only those matching the
filters). --confirm must repeat the org id. If Keyward answers that it stopped
part-way (exit 1), every key it reached is already refused: run the same command
again to complete it.`,
  options: {
    org: ORG,
    confirm: { type: "string", value: "ORG", help: "The org id again", required: true },
    env: { type: "string", value: "live|test", help: "Only keys of this environment" },
    "created-before": { type: "string", value: "ISO", help: "Only keys created before this time" },
    "label-prefix": { type: "string", value: "TEXT", help: "Only keys whose label starts with TEXT" },
  },
  globals: ["url", "token", "json"],
  async run(ctx) {
    const { org, confirm, env, "label-prefix": labelPrefix } = ctx.values;
    // Checked here too, so a slip never reaches the server; the server checks it again.
    if (confirm !== org) throw usageError(`--confirm must repeat the org id exactly (${JSON.stringify(printable(org))}); nothing was revoked`, ctx.usage);
    if (env !== undefined && env !== "live" && env !== "test") throw usageError(`--env must be live or test, got ${JSON.stringify(printable(env))}`, ctx.usage);
    /** @type {RevokeAllInput} */
    const body = { confirm };
    if (env !== undefined) body.environment = env;
    const createdBefore = isoTime(ctx, "created-before");
    if (createdBefore !== undefined) body.createdBefore = createdBefore;
    if (labelPrefix !== undefined) body.labelPrefix = labelPrefix;
    const result = await callRoute(ctx, revokeAllRoute, { params: { org }, body });
    if (ctx.values.json) return printJson(ctx, result);
    /** @type {RevokeAllResult} */
    const counts = expectObject(result, "the response");
    ctx.io.out(`revoked ${printable(counts.revoked)} keys of org ${printable(org)}; ${printable(counts.alreadyRevoked)} were already revoked\n`);
  },
});
