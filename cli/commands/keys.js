// `keyward keys create|list|get|revoke|meta`: an org's API keys.
import { createKeyRoute, getKeyRoute, listKeysRoute, patchKeyRoute, revokeKeyRoute } from "../../src/admin/route-refs.js";
import { callRoute, expectList, expectObject, printJson } from "../admin-call.js";
import { defineCommand } from "../command.js";
import { CliError, usageError } from "../errors.js";
import { formatTime, keyTable, keyView } from "../format.js";
import { printable } from "../http.js";
import { allOf, inWords, isoTime, list, oneOf, optionalInteger } from "../option-values.js";
import { ENVIRONMENTS, KEY_ID, ORG, printKey } from "./common.js";

/** @import * as routes from "../../src/admin/admin-routes" */
/** @import { Context } from "../command.js" */
/** @import * as z from "zod" */
/** @import { CreatedKey, CreateKeyInput, KeyList, KeyView } from "../../src/admin/api-types" */
/** @import { keyListQuery } from "../../src/admin/schemas" */
/** @import { RequestOf } from "../../src/http/route-def" */

const STATUSES = allOf(/** @satisfies {Record<KeyView["status"], true>} */ ({ active: true, revoked: true, expired: true, disabled: true }));
const SORTS = allOf(/** @satisfies {Record<NonNullable<z.input<typeof keyListQuery>["sort"]>, true>} */ ({ created: true, lastUsed: true }));
/** The listing's largest page (keyListQuery). */
const MAX_PAGE = 1000;
const REFILL = /^(daily):(\d+)$|^(monthly):(\d+)(?::(\d+))?$/;

/**
 * `daily:AMOUNT` or `monthly:AMOUNT:DAY`, as the admin API's refill object.
 * @param {Context} ctx
 * @param {string} spec
 * @returns {NonNullable<NonNullable<CreateKeyInput["credits"]>["refill"]>}
 */
function refillOf(ctx, spec) {
  const m = REFILL.exec(spec.trim());
  if (!m) throw usageError(`--refill must be daily:AMOUNT or monthly:AMOUNT:DAY, got ${JSON.stringify(printable(spec))}`, ctx.usage);
  if (m[1]) return { interval: "daily", amount: Number(m[2]) };
  const day = m[5] === undefined ? 1 : Number(m[5]);
  if (day < 1 || day > 31) throw usageError(`--refill: DAY must be 1-31, got ${day}`, ctx.usage);
  return { interval: "monthly", amount: Number(m[4]), refillDay: day };
}

/**
 * --meta as a JSON object (the server checks its size).
 * @param {Context} ctx
 * @param {string} raw
 * @returns {NonNullable<CreateKeyInput["meta"]>}
 */
function metaOf(ctx, raw) {
  let parsed;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw usageError('--meta must be a JSON object, e.g. \'{"plan":"pro"}\'', ctx.usage);
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed))
    throw usageError("--meta must be a JSON object (or null with keys meta)", ctx.usage);
  return parsed;
}

export const keysCreate = defineCommand({
  name: "keys create",
  summary: "Create an API key (the key is shown once)",
  description: `Creates an API key and prints it once; Keyward keeps only its hash. With --quiet,
prints only the key, for scripts:

  export KEY=$(npx keyward keys create --org acme --label ci --quiet)`,
  options: {
    org: ORG,
    label: { type: "string", value: "LABEL", help: "A name for the key", required: true },
    env: { type: "string", value: "live|test", help: "Key environment (server default: live)" },
    scopes: { type: "string", value: '"a b"', help: "Scopes the key is limited to (default: all)" },
    "expires-at": { type: "string", value: "ISO", help: "Expiry time, e.g. 2027-01-01T00:00:00Z" },
    "allowed-ips": {
      type: "string",
      value: '"a b"',
      help: "Addresses or CIDRs the key may be used from (IPv4, IPv6;\ndefault: any). Fixed for the key's life.",
    },
    credits: { type: "string", value: "N", help: "Starting balance of credits (default: unlimited)" },
    refill: {
      type: "string",
      value: "SPEC",
      help: "daily:AMOUNT or monthly:AMOUNT:DAY (UTC; DAY 1-31, past a\nmonth's end means its last day); needs --credits",
    },
    meta: { type: "string", value: "JSON", help: "A JSON object (at most 1 KiB) sent to the origin with every\nrequest. Never put secrets in it." },
    quiet: { type: "boolean", short: "q", help: "Print only the key (the warning still goes to stderr)" },
  },
  globals: ["url", "token", "json"],
  async run(ctx) {
    const { values } = ctx;
    const env = values.env;
    if (env !== undefined && env !== "live" && env !== "test") throw usageError(`--env must be live or test, got ${JSON.stringify(printable(env))}`, ctx.usage);
    /** @type {CreateKeyInput} */
    const body = { label: values.label };
    if (env !== undefined) body.environment = env;
    const scopes = list(values.scopes);
    if (scopes !== undefined) body.scopes = scopes;
    const expiresAt = isoTime(ctx, "expires-at");
    if (expiresAt !== undefined) body.expiresAt = expiresAt;
    const allowedIps = list(values["allowed-ips"]);
    if (allowedIps !== undefined) body.allowedIps = allowedIps;
    const remaining = optionalInteger(ctx, "credits", 0);
    if (remaining !== undefined) body.credits = { remaining, ...(values.refill === undefined ? {} : { refill: refillOf(ctx, values.refill) }) };
    else if (values.refill !== undefined) throw usageError("--refill needs --credits (the starting balance)", ctx.usage);
    if (values.meta !== undefined) body.meta = metaOf(ctx, values.meta);

    /** @type {CreatedKey} */
    const created = expectObject(await callRoute(ctx, createKeyRoute, { params: { org: values.org }, body }), "the created key");
    ctx.io.err("warning: this is the only time the key is shown; Keyward stores just its hash. Copy it now into your secret store.\n");
    if (values.json) return printJson(ctx, created);
    const { key, ...view } = created;
    if (typeof key !== "string" || key === "") throw new CliError("unexpected answer: the created key has no `key` field");
    if (values.quiet) {
      ctx.io.out(`${printable(key)}\n`);
      return;
    }
    ctx.io.out(`API key (shown once):\n\n    ${printable(key)}\n\n${keyView(view)}\n`);
  },
});

export const keysList = defineCommand({
  name: "keys list",
  summary: "List an org's keys",
  description: `Lists the org's keys, newest first (never the secret keys themselves), following
the listing's pages until the end (or --limit keys).`,
  options: {
    org: ORG,
    status: { type: "string", value: "S", help: inWords(STATUSES) },
    env: { type: "string", value: "live|test", help: "Only keys of this environment" },
    sort: { type: "string", value: "S", help: "created (newest first, default) or lastUsed (most recent first)" },
    search: { type: "string", value: "TEXT", help: "Only keys whose label contains TEXT (any case), or whose prefix or id starts with it" },
    limit: { type: "string", value: "N", help: "At most N keys (default: all)" },
    quiet: {
      type: "boolean",
      short: "q",
      help: "Print only the key ids, one a line, newest first:\n  export KEY_ID=$(npx keyward keys list --org acme --quiet | head -n 1)",
    },
  },
  globals: ["url", "token", "json"],
  async run(ctx) {
    const { values } = ctx;
    const max = optionalInteger(ctx, "limit", 1) ?? Number.POSITIVE_INFINITY;
    const filters = {
      status: oneOf(ctx, "status", STATUSES),
      environment: oneOf(ctx, "env", ENVIRONMENTS),
      sort: oneOf(ctx, "sort", SORTS),
      // The server searches (one ledger call a page) and says what it refuses (too long, control characters).
      q: values.search,
    };
    // Follow the listing's cursors to the end (or to --limit keys), one page a request.
    /** @type {KeyView[]} */
    const keys = [];
    /** @type {string | undefined} */
    let cursor;
    do {
      const query = { ...filters, limit: String(Math.min(MAX_PAGE, max - keys.length)), cursor };
      /** @type {KeyList} */
      const page = expectObject(await callRoute(ctx, listKeysRoute, { params: { org: values.org }, query }), "the response");
      /** @type {KeyView[]} */
      const found = expectList(page, "keys");
      keys.push(...found);
      cursor = typeof page.nextCursor === "string" ? page.nextCursor : undefined;
    } while (cursor !== undefined && keys.length < max);
    if (values.json) return printJson(ctx, { keys: keys.slice(0, max), nextCursor: keys.length >= max ? (cursor ?? null) : null });
    if (values.quiet) {
      for (const key of keys) ctx.io.out(`${printable(key.id)}\n`);
      return;
    }
    ctx.io.out(keys.length === 0 ? `no keys for org ${printable(values.org)}\n` : `${keyTable(keys)}\n`);
  },
});

export const keysGet = defineCommand({
  name: "keys get",
  summary: "Show one key",
  options: { org: ORG, id: KEY_ID },
  globals: ["url", "token", "json"],
  async run(ctx) {
    printKey(ctx, await callRoute(ctx, getKeyRoute, { params: { org: ctx.values.org, id: ctx.values.id } }));
  },
});

export const keysRevoke = defineCommand({
  name: "keys revoke",
  summary: "Revoke a key now, or schedule its revocation",
  description: "Revokes the key now, or schedules its revocation at --at (for rotation grace periods).",
  options: { org: ORG, id: KEY_ID, at: { type: "string", value: "ISO", help: "When to revoke, e.g. 2027-01-01T00:00:00Z (default: now)" } },
  globals: ["url", "token", "json"],
  async run(ctx) {
    const { values } = ctx;
    const at = isoTime(ctx, "at");
    const params = { org: values.org, id: values.id };
    // Read first, only to say whether this call changes anything: revoking is
    // idempotent, and the revoke call below still runs (it completes a revocation
    // whose index write failed before). A failed read just leaves the note out.
    const before = await callRoute(ctx, getKeyRoute, { params }).then(
      (key) => /** @type {KeyView | null} */ (key !== null && typeof key === "object" ? key : null),
      () => null,
    );
    /** @type {RequestOf<typeof routes.revokeKeyRoute>} */
    const input = at === undefined ? {} : { at };
    const body = await callRoute(ctx, revokeKeyRoute, { params, body: input });
    if (values.json) return printJson(ctx, body);
    if (before !== null && typeof before.revokedAt === "string") {
      ctx.io.err(`note: ${printable(values.id)} was already revoked at ${formatTime(before.revokedAt)}; nothing changed.\n`);
    } else if (before !== null && typeof before.revokeAt === "string" && at !== undefined && Date.parse(before.revokeAt) <= Date.parse(at)) {
      ctx.io.err(`note: ${printable(values.id)} was already scheduled to be revoked at ${formatTime(before.revokeAt)}; nothing changed.\n`);
    }
    printKey(ctx, body);
  },
});

export const keysMeta = defineCommand({
  name: "keys meta",
  summary: "Replace a key's metadata (sent to the origin)",
  description: `Replaces a key's metadata (a JSON object of at most 1 KiB, or null to remove
it); the origin sees it from the next request. Never put secrets in it.`,
  options: { org: ORG, id: KEY_ID, meta: { type: "string", value: "JSON", help: `e.g. '{"plan":"pro"}', or null`, required: true } },
  globals: ["url", "token", "json"],
  async run(ctx) {
    const { values } = ctx;
    /** @type {RequestOf<typeof routes.patchKeyRoute>} */
    const body = { meta: values.meta.trim() === "null" ? null : metaOf(ctx, values.meta) };
    printKey(ctx, await callRoute(ctx, patchKeyRoute, { params: { org: values.org, id: values.id }, body }));
  },
});
