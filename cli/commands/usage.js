// `keyward usage`: an org's or a key's usage, as a table with a sparkline.
import { keyUsageRoute, orgUsageRoute } from "../../src/admin/route-refs.js";
import { callRoute, expectList, expectObject, printJson } from "../admin-call.js";
import { defineCommand } from "../command.js";
import { usageError } from "../errors.js";
import { formatTime } from "../format.js";
import { printable } from "../http.js";
import { allOf, oneOf } from "../option-values.js";
import { usageTable } from "../usage-format.js";
import { ORG } from "./common.js";

/** @import { KeyUsage, OrgUsage, UsageBucket } from "../../src/admin/api-types" */

const KEY_GRANULARITIES = allOf(/** @satisfies {Record<KeyUsage["granularity"], true>} */ ({ minute: true, hour: true, day: true }));
const ORG_GRANULARITIES = allOf(/** @satisfies {Record<OrgUsage["granularity"], true>} */ ({ hour: true, day: true }));

const DURATION = /^(\d+)([mhd])$/;
const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * The sum of refusals by code.
 * @param {Record<string, number>} refused
 */
const total = (refused) => Object.values(refused).reduce((n, v) => n + v, 0);

export const usage = defineCommand({
  name: "usage",
  summary: "Show an org's or a key's usage (table and sparkline)",
  description: `Shows usage as a table with a sparkline: the org's (totals and busiest keys), or
one key's with --id. A key's minute view is fresh; hour and day views are as the
keys' guards last reported (at most about a minute behind).`,
  options: {
    org: ORG,
    id: { type: "string", value: "KEY_ID", help: "One key (default: the whole org)" },
    since: { type: "string", value: "DURATION", help: "How far back: 90m, 24h, 7d (default 24h; 1h for minute)" },
    granularity: { type: "string", value: "G", help: "minute (with --id only), hour (default) or day" },
  },
  globals: ["url", "token", "json"],
  async run(ctx) {
    const { org, id } = ctx.values;
    const granularity = oneOf(ctx, "granularity", id === undefined ? ORG_GRANULARITIES : KEY_GRANULARITIES) ?? "hour";
    const since = ctx.values.since ?? (granularity === "minute" ? "1h" : granularity === "day" ? "30d" : "24h");
    const match = DURATION.exec(since.trim());
    if (!match) throw usageError(`--since must be a duration such as 90m, 24h or 7d, got ${JSON.stringify(printable(since))}`, ctx.usage);
    const from = new Date(Date.now() - Number(match[1]) * UNIT_MS[/** @type {keyof typeof UNIT_MS} */ (match[2])]).toISOString();
    /** @type {Partial<KeyUsage> & Partial<OrgUsage>} */
    const body = expectObject(
      id === undefined
        ? await callRoute(ctx, orgUsageRoute, { params: { org }, query: { granularity: granularity === "minute" ? undefined : granularity, from } })
        : await callRoute(ctx, keyUsageRoute, { params: { org, id }, query: { granularity, from } }),
      "the response",
    );
    if (ctx.values.json) return printJson(ctx, body);
    /** @type {UsageBucket[]} */
    const buckets = expectList(body, "buckets");
    let head = `${id === undefined ? `org ${printable(org)}` : `key ${printable(id)}`}, by ${granularity}, since ${formatTime(from)}`;
    if (id !== undefined) {
      const where = body.locations ?? { countries: [], asns: [] };
      head += `\nlast used ${formatTime(body.lastUsedAt, "never")}; countries ${(where.countries ?? []).map(printable).join(" ") || "-"}; ASNs ${(where.asns ?? []).map(printable).join(" ") || "-"}`;
    } else {
      /** @type {Partial<OrgUsage["totals"]>} */
      const totals = expectObject(body.totals, "totals");
      head += `\ntotal admitted ${printable(totals.admitted)}, refused ${total(totals.refused ?? {})}`;
    }
    let out = `${head}\n\n${usageTable(buckets)}\n`;
    if (id === undefined && Array.isArray(body.topKeys) && body.topKeys.length > 0) {
      /** @type {OrgUsage["topKeys"]} */
      const top = expectList(body, "topKeys");
      out += `\nbusiest keys:\n${top.map((k) => `  ${printable(k.keyId)}  admitted ${printable(k.admitted)}, refused ${printable(k.refused)}`).join("\n")}\n`;
    }
    ctx.io.out(out);
  },
});
