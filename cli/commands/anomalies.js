// `keyward anomalies [ack]`: unusual patterns flagged on an org's keys.
import { acknowledgeRoute, anomaliesRoute } from "../../src/admin/route-refs.js";
import { callRoute, expectList, expectObject, printJson } from "../admin-call.js";
import { defineCommand } from "../command.js";
import { formatTime } from "../format.js";
import { printable } from "../http.js";
import { anomalyTable } from "../usage-format.js";
import { ORG } from "./common.js";

/** @import * as z from "zod" */
/** @import { AnomalyView } from "../../src/admin/api-types" */
/** @import { anomalyListQuery } from "../../src/admin/usage-schemas" */

export const anomalies = defineCommand({
  name: "anomalies",
  summary: "List unusual patterns flagged on an org's keys",
  description: "Lists the open anomaly flags of the org's keys (with --all, acknowledged ones too).",
  options: { org: ORG, all: { type: "boolean", help: "Include acknowledged flags" } },
  globals: ["url", "token", "json"],
  async run(ctx) {
    const { org, all } = ctx.values;
    /** @type {z.input<typeof anomalyListQuery>["status"]} */
    const status = all ? "all" : "open";
    const body = await callRoute(ctx, anomaliesRoute, { params: { org }, query: { status } });
    if (ctx.values.json) return printJson(ctx, body);
    /** @type {AnomalyView[]} */
    const list = expectList(body, "anomalies");
    ctx.io.out(list.length === 0 ? `no ${all ? "" : "open "}anomalies for org ${printable(org)}\n` : `${anomalyTable(list)}\n`);
  },
});

export const anomaliesAck = defineCommand({
  name: "anomalies ack",
  summary: "Acknowledge an anomaly",
  description: "Acknowledges an anomaly (org admins; recorded in the audit trail).",
  options: { org: ORG, id: { type: "string", value: "ANOMALY_ID", help: "Anomaly id (anm_…)", required: true } },
  globals: ["url", "token", "json"],
  async run(ctx) {
    const body = await callRoute(ctx, acknowledgeRoute, { params: { org: ctx.values.org, id: ctx.values.id }, body: {} });
    if (ctx.values.json) return printJson(ctx, body);
    /** @type {AnomalyView} */
    const a = expectObject(body, "the anomaly");
    ctx.io.out(`acknowledged ${printable(a.id)} (${printable(a.type)} on ${printable(a.keyId)}) at ${formatTime(a.acknowledgedAt)}\n`);
  },
});
