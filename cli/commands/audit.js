// `keyward audit`: an org's audit trail, filtered and paged by the server.
import { auditRoute } from "../../src/admin/route-refs.js";
import { callRoute, expectList, expectObject, printJson } from "../admin-call.js";
import { defineCommand } from "../command.js";
import { auditTable } from "../format.js";
import { printable } from "../http.js";
import { isoTime, optionalInteger } from "../option-values.js";
import { ORG } from "./common.js";

/** @import { AuditEvent, AuditList } from "../../src/admin/api-types" */
/** @import { AuditAction } from "../../src/ledger/audit-actions" */

/** The audit API's largest page (auditListQuery). */
const MAX_PAGE = 1000;
/** Shown without --limit: the latest entries, like the API's default page. */
const DEFAULT_LIMIT = 100;

export const audit = defineCommand({
  name: "audit",
  summary: "Show an org's audit trail, newest first",
  description: `Shows who created, revoked, suspended or changed which key, and when, newest first:
key creation and revocation (also scheduled and by leak reports), suspension,
rate limits, credits, metadata, the org's shared limit and acknowledged anomalies.
Repeated leak reports of one key within a minute are one line with a count.
Filters are applied by the server. Shows the latest --limit entries (default ${DEFAULT_LIMIT});
when there are older ones it says how to page on with --cursor.`,
  options: {
    org: ORG,
    key: { type: "string", value: "KEY_ID", help: "Only entries about this key" },
    action: { type: "string", value: "ACTION", help: "Only entries of this action, e.g. key.revoked" },
    actor: { type: "string", value: "ACTOR", help: "Only entries by this actor, as listed (user:…, operator, report)" },
    since: { type: "string", value: "ISO", help: "Only entries at or after this time" },
    until: { type: "string", value: "ISO", help: "Only entries before this time" },
    limit: { type: "string", value: "N", help: `At most N entries (default ${DEFAULT_LIMIT})` },
    cursor: { type: "string", value: "CURSOR", help: "Older entries: the cursor the previous run printed" },
  },
  globals: ["url", "token", "json"],
  async run(ctx) {
    const { values } = ctx;
    const max = optionalInteger(ctx, "limit", 1) ?? DEFAULT_LIMIT;
    const filters = {
      key: values.key,
      action: /** @type {AuditAction | undefined} */ (values.action),
      actor: values.actor,
      since: isoTime(ctx, "since"),
      until: isoTime(ctx, "until"),
    };
    // Follow the log's cursors until --limit entries (the server checks the key id, action and actor).
    /** @type {AuditEvent[]} */
    const events = [];
    /** @type {string | undefined} */
    let cursor = values.cursor;
    do {
      const query = { ...filters, limit: String(Math.min(MAX_PAGE, max - events.length)), cursor };
      /** @type {AuditList} */
      const page = expectObject(await callRoute(ctx, auditRoute, { params: { org: values.org }, query }), "the response");
      events.push(.../** @type {AuditEvent[]} */ (expectList(page, "events")));
      cursor = typeof page.nextCursor === "string" ? page.nextCursor : undefined;
    } while (cursor !== undefined && events.length < max);
    if (values.json) return printJson(ctx, { events, nextCursor: cursor ?? null });
    ctx.io.out(events.length === 0 ? `no audit events for org ${printable(values.org)}\n` : `${auditTable(events)}\n`);
    if (cursor !== undefined) ctx.io.out(`older entries: add --cursor ${cursor}\n`);
  },
});
