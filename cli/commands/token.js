// `keyward token`: mint a local development user token.
import { defineCommand } from "../command.js";
import { usageError } from "../errors.js";
import { printable } from "../http.js";
import { list, optionalInteger } from "../option-values.js";
import { mintDevToken, ROLES } from "../token.js";

export const tokenCommand = defineCommand({
  name: "token",
  summary: "Mint a local development user token (HS256, from .dev.vars)",
  description: `Mints a development user token (HS256) signed with KEYWARD_DEV_JWT_SECRET from
.dev.vars in the current directory (or the environment) and prints only the token:

  export KEYWARD_TOKEN=$(npx keyward token --org acme --role org:admin)

Refuses unless KEYWARD_ENV is "development". Adds iss/aud when USER_TOKEN_ISSUER /
USER_TOKEN_AUDIENCE are set, and uses CLAIM_* claim names when configured.`,
  options: {
    org: { type: "string", value: "ORG", help: "Organization id (claim org_id)", required: true },
    role: { type: "string", value: "ROLE", help: `${ROLES.join(" or ")} (claim org_role)`, required: true },
    sub: { type: "string", value: "USER", help: 'User id (claim sub), default "dev-user"' },
    ttl: { type: "string", value: "SECONDS", help: "Lifetime in seconds, default 3600" },
    permissions: { type: "string", value: '"a b"', help: "Permissions (claim permissions, a list)" },
    "customer-ids": { type: "string", value: '"c1 c2"', help: "Resource ids (claim customer_ids, a list)" },
  },
  // It sends nothing, so --url, --token and --json would do nothing here.
  globals: [],
  async run(ctx) {
    const { values } = ctx;
    const role = ROLES.find((r) => r === values.role);
    if (role === undefined) throw usageError(`--role must be ${ROLES.join(" or ")}, got ${JSON.stringify(printable(values.role))}`, ctx.usage);
    const ttlSeconds = optionalInteger(ctx, "ttl", 1) ?? 3600;
    const sub = values.sub ?? "dev-user";
    if (sub.trim() === "") throw usageError("--sub must not be empty", ctx.usage);
    const token = await mintDevToken(
      { org: values.org, role, sub, ttlSeconds, permissions: list(values.permissions), customerIds: list(values["customer-ids"]) },
      ctx.settings,
    );
    ctx.io.out(`${token}\n`);
  },
});
