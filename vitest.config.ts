import { generateKeyPairSync, randomBytes } from "node:crypto";
import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

// Fresh secrets for every test run; nothing secret is committed.
const signingKey = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ format: "jwk" });

export default defineConfig({
  test: {
    projects: [
      {
        // Everything that runs in the Workers runtime: inside workerd, against real local KV and Durable Objects.
        plugins: [
          cloudflareTest({
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: {
              bindings: {
                KEYWARD_ENV: "development",
                ORIGIN_URL: "http://origin.test",
                KEYWARD_SIGNING_KEY: JSON.stringify({ ...signingKey, kid: `dev-test-${randomBytes(4).toString("hex")}` }),
                KEYWARD_OPERATOR_TOKEN: `dev_op_${randomBytes(24).toString("hex")}`,
                KEYWARD_DEV_JWT_SECRET: randomBytes(32).toString("hex"),
              },
            },
          }),
        ],
        test: { name: "workers", include: ["test/**/*.test.ts"], testTimeout: 20_000 },
      },
      {
        // Node-side tools (CLI, end-to-end against wrangler dev and a real OpenID provider).
        test: { name: "node", include: ["test-node/**/*.test.{ts,mjs}"], environment: "node", testTimeout: 120_000, hookTimeout: 120_000 },
      },
    ],
  },
});
