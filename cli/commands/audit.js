// `keyward audit`: an org's audit trail.
import { auditRoute } from "../../src/admin/route-refs.js";
import { callRoute, expectList, printJson } from "../admin-call.js";
import { defineCommand } from "../command.js";
import { auditTable } from "../format.js";
import { printable } from "../http.js";
import { ORG } from "./common.js";

/** @import { AuditEvent } from "../../src/admin/api-types" */

export const audit = defineCommand({
  name: "audit",
  summary: "Show an org's audit trail",
  description: "Shows the org's audit trail (key creation, revocation, rate-limit changes).",
  options: { org: ORG },
  globals: ["url", "token", "json"],
  async run(ctx) {
    const org = ctx.values.org;
    const body = await callRoute(ctx, auditRoute, { params: { org } });
    if (ctx.values.json) return printJson(ctx, body);
    /** @type {AuditEvent[]} */
    const events = expectList(body, "events");
    ctx.io.out(events.length === 0 ? `no audit events for org ${printable(org)}\n` : `${auditTable(events)}\n`);
  },
});
