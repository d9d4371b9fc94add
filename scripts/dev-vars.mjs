// @ts-check
// Creates .dev.vars with fresh random development secrets when it is missing.
// Every secret is marked as a development one, and Keyward refuses to start with
// any of them when KEYWARD_ENV is "production".
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";

export function ensureDevVars(path = ".dev.vars") {
  if (!existsSync(path)) {
    const jwk = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ format: "jwk" });
    const signingKey = JSON.stringify({ ...jwk, kid: `dev-${randomBytes(4).toString("hex")}` });
    const lines = [
      "# Local development secrets, created by `npm run dev`. Never use them in production.",
      "KEYWARD_ENV=development",
      "ORIGIN_URL=http://127.0.0.1:8788",
      `KEYWARD_SIGNING_KEY='${signingKey}'`,
      `KEYWARD_OPERATOR_TOKEN=dev_op_${randomBytes(24).toString("hex")}`,
      `KEYWARD_DEV_JWT_SECRET=${randomBytes(32).toString("hex")}`,
      "",
    ];
    writeFileSync(path, lines.join("\n"), { mode: 0o600 });
    console.log(`created ${path} with fresh development secrets`);
  }
  return readDevVars(path);
}

export function readDevVars(path = ".dev.vars") {
  const vars = {};
  if (!existsSync(path)) return vars;
  for (const line of readFileSync(path, "utf8").split("\n")) {
    const match = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (match) vars[match[1]] = match[2].replace(/^'(.*)'$/, "$1").replace(/^"(.*)"$/, "$1");
  }
  return vars;
}
