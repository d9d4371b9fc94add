// `keyward keys roll`: a new secret for the same key.
import { rollKeyRoute } from "../../src/admin/route-refs.js";
import { callRoute, expectObject, operatorOrUserToken, printJson } from "../admin-call.js";
import { defineCommand } from "../command.js";
import { CliError } from "../errors.js";
import { formatTime } from "../format.js";
import { printable } from "../http.js";
import { optionalInteger } from "../option-values.js";
import { KEY_ID, ORG } from "./common.js";

export const keysRoll = defineCommand({
  name: "keys roll",
  summary: "Roll a key: a new secret for the same key (shown once)",
  description: `Gives the key a new secret and prints it once. The key keeps its id, limits,
window, credits, meta and usage. The old secret keeps working for --grace
seconds (0-604800, default 0: refused from the next request), then is refused
like a revoked key. With --quiet, prints only the new secret. Uses --token /
KEYWARD_TOKEN (an org admin), else the operator token.`,
  options: {
    org: ORG,
    id: KEY_ID,
    grace: { type: "string", value: "SECONDS", help: "How long the old secret keeps working (0-604800, default 0)" },
    quiet: { type: "boolean", short: "q", help: "Print only the new secret (the warning still goes to stderr)" },
  },
  globals: ["url", "token", "json"],
  async run(ctx) {
    const graceSeconds = optionalInteger(ctx, "grace", 0);
    const params = { org: ctx.values.org, id: ctx.values.id };
    const body = graceSeconds === undefined ? {} : { graceSeconds };
    const rolled = expectObject(await callRoute(ctx, rollKeyRoute, { params, body, token: operatorOrUserToken(ctx) }), "the rolled key");
    ctx.io.err("warning: this is the only time the new secret is shown; Keyward stores just its hash. Copy it now into your secret store.\n");
    if (ctx.values.json) return printJson(ctx, rolled);
    if (typeof rolled.key !== "string" || rolled.key === "") throw new CliError("unexpected answer: the rolled key has no `key` field");
    if (ctx.values.quiet) {
      ctx.io.out(`${printable(rolled.key)}\n`);
      return;
    }
    ctx.io.out(
      `New secret for ${printable(String(rolled.id))} (shown once):\n\n    ${printable(rolled.key)}\n\nThe old secret works until ${formatTime(String(rolled.previousValidUntil))}.\n`,
    );
  },
});
