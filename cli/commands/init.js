// `keyward init`: production secrets for a new deployment (or a new signing key),
// printed as the `wrangler secret put` lines that install them.
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { defineCommand } from "../command.js";
import { usageError } from "../errors.js";
import { printable } from "../http.js";

/** A kid that says when the key was made; never "dev-" (Keyward refuses those in production). */
function newKid(now = new Date()) {
  return `k${now.toISOString().slice(0, 10).replace(/-/g, "")}-${randomBytes(3).toString("hex")}`;
}

/**
 * Single-quoted for a POSIX shell (the JSON and hex values hold no quote; escaped all the same).
 * @param {string} value
 */
const shellQuote = (value) => `'${value.replace(/'/g, "'\\''")}'`;

export const init = defineCommand({
  name: "init",
  summary: "Generate production secrets and print the wrangler secret put lines",
  description: `Generates a new signing key for X-Keyward-Context (EC P-256, with a kid) and an
operator token (64 hex characters), and prints the lines that install them:

  npx keyward init | sh                      # run them (wrangler asks you to log in first)
  npx keyward init --env staging | sh        # for [env.staging]

The lines go to stdout; what to keep (the operator token, the key's public half)
goes to stderr. Nothing is written to disk. --signing-key-only makes only a new
signing key, for a rotation: keep its line and run it later, as docs/origin.md
(Key rotation) says; piped to sh it would switch the key at once.`,
  options: {
    env: { type: "string", value: "NAME", help: "A wrangler environment ([env.NAME]): adds --env NAME to each line" },
    "signing-key-only": { type: "boolean", help: "Only a new signing key (key rotation), no operator token" },
  },
  // It sends nothing, so --url, --token and --json would do nothing here.
  globals: [],
  async run(ctx) {
    const { values } = ctx;
    const env = values.env;
    if (env !== undefined && !/^[a-z0-9][a-z0-9-]{0,62}$/.test(env)) {
      throw usageError(`--env must be a wrangler environment name (lower-case letters, digits, dashes), got ${JSON.stringify(printable(env))}`, ctx.usage);
    }
    const envFlag = env === undefined ? "" : ` --env ${env}`;
    const kid = newKid();
    const privateJwk = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ format: "jwk" });
    const signingKey = JSON.stringify({ ...privateJwk, kid });
    const { d: _private, ...publicJwk } = { ...privateJwk, kid };
    const lines = [
      `# Keyward secrets${env === undefined ? "" : ` for [env.${env}]`}, generated ${new Date().toISOString()}. Each line installs one; nothing is written to disk.`,
      `printf '%s' ${shellQuote(signingKey)} | npx wrangler secret put KEYWARD_SIGNING_KEY${envFlag}`,
    ];
    const notes = [`Signing key ${kid}. Its public half (for KEYWARD_PUBLISHED_KEYS during a rotation, docs/origin.md):`, `  ${JSON.stringify(publicJwk)}`];
    if (!values["signing-key-only"]) {
      const operatorToken = randomBytes(32).toString("hex");
      lines.push(`printf '%s' ${shellQuote(operatorToken)} | npx wrangler secret put KEYWARD_OPERATOR_TOKEN${envFlag}`);
      notes.push("Operator token (keep it in your password manager; the CLI reads it from KEYWARD_TOKEN):", `  ${operatorToken}`);
    }
    ctx.io.out(`${lines.join("\n")}\n`);
    ctx.io.err(`${notes.join("\n")}\n`);
  },
});
