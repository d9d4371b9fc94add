import { generateKeyPairSync, randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { buildConsole } from "./scripts/build-console.mjs";
import { useRamTempDir } from "./test-support/ram-temp-dir.mjs";
import { LongestFirstSequencer } from "./test-support/sequencer";

// Durable Object storage, local KV and wrangler dev's state in memory (before any runtime starts).
useRamTempDir();

// The Worker imports the console's bundled browser program; wrangler builds it for dev and deploy, this does for tests.
buildConsole();

// Fresh secrets for every test run; nothing secret is committed.
const signingKey = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ format: "jwk" });

// The origin Worker of the service-binding tests: it echoes what it received
// (method, URL, headers), so a test can verify the context token as an origin would.
const TEST_ORIGIN_SCRIPT = `export default {
  async fetch(request) {
    return Response.json({ via: "service", method: request.method, url: request.url, headers: Object.fromEntries(request.headers) });
  },
};`;

// Hermetic tests: wrangler reads `.dev.vars` from the directory of its config,
// so the Workers tests use a copy of wrangler.toml (absolute entry point) in a
// directory of their own. A developer's .dev.vars (their JWKS URL, their secrets)
// never reaches a test; everything a test needs is set below.
function hermeticWranglerConfig(): string {
  const root = dirname(fileURLToPath(import.meta.url));
  const dir = join(root, "node_modules", ".cache", "keyward-test");
  mkdirSync(dir, { recursive: true });
  const toml = readFileSync(join(root, "wrangler.toml"), "utf8").replace(
    /^main\s*=\s*"([^"]+)"/m,
    (_m, main: string) => `main = ${JSON.stringify(join(root, main))}`,
  );
  const path = join(dir, "wrangler.toml");
  // Unlink first: a node_modules copied with hard links (one per git worktree)
  // would otherwise share this file, and one checkout's tests would run another's Worker.
  rmSync(path, { force: true });
  writeFileSync(path, toml);
  return path;
}

export default defineConfig({
  test: {
    // Both cores: vitest's default is cores - 1, one lane on a 2-core machine.
    maxWorkers: 2,
    // Files that take long for their size start first (test-support/sequencer.ts).
    sequence: { sequencer: LongestFirstSequencer },
    projects: [
      {
        // Everything that runs in the Workers runtime: inside workerd, against real local KV and Durable Objects.
        plugins: [
          cloudflareTest({
            wrangler: { configPath: hermeticWranglerConfig() },
            miniflare: {
              bindings: {
                KEYWARD_ENV: "development",
                ORIGIN_URL: "http://origin.test",
                KEYWARD_SIGNING_KEY: JSON.stringify({ ...signingKey, kid: `dev-test-${randomBytes(4).toString("hex")}` }),
                KEYWARD_OPERATOR_TOKEN: `dev_op_${randomBytes(24).toString("hex")}`,
                KEYWARD_DEV_JWT_SECRET: randomBytes(32).toString("hex"),
              },
              // An origin Worker reached through a service binding (test/origin-service.test.ts).
              // Not named ORIGIN: the other tests use ORIGIN_URL.
              serviceBindings: { TEST_ORIGIN_SERVICE: "test-origin" },
              workers: [{ name: "test-origin", modules: true, compatibilityDate: "2026-11-01", script: TEST_ORIGIN_SCRIPT }],
            },
          }),
        ],
        test: {
          name: "workers",
          include: ["test/**/*.test.ts"],
          testTimeout: 20_000,
          // One workerd for all the files instead of one started per file (about 3 s of
          // CPU each, two thirds of this project's time); each file still starts on
          // empty storage and fresh modules (test/support/fresh-storage.ts).
          isolate: false,
          setupFiles: ["./test/support/fresh-storage.ts"],
          // The Worker's packages bundled once per run, one module each, instead of some 170
          // modules (zod alone 94) that each workerd fetched from vitest and evaluated one by
          // one: about 13 % less CPU over twelve files of this project (paired runs; each
          // run bundled afresh, as on a fresh clone). Bundled with the runtime's conditions:
          // the same builds (jose's Web Crypto one) the Worker gets from wrangler.
          deps: { optimizer: { ssr: { enabled: true, include: ["hono", "zod", "jose", "ipaddr.js", "standardwebhooks"] } } },
          // Transforms the Worker while the node project runs (test-support/warm-transforms.ts).
          globalSetup: ["./test-support/warm-transforms.ts"],
          // After the node project (see there), on both cores: two workerds.
          sequence: { groupOrder: 1 },
        },
      },
      {
        // Node-side tools: the CLI in process, deploy checks, the origin package; end to end
        // over HTTP against one Keyward under wrangler dev shared by these files
        // (test-support/shared-keyward.mjs, booting while the other files run; it also serves the metered
        // routes), and against a Keyward of its own where the configuration must differ (a real OpenID provider).
        // One project, so that vitest spreads all of them over its lanes in one pass.
        test: {
          name: "node",
          // These files mostly wait (on wrangler dev booting, wrangler's dry-run deploys, npm and
          // tsc), so four at a time keep both cores busy where two left one idle much of the time;
          // the workers project, which is all CPU, runs after them (groupOrder) on two.
          maxWorkers: 4,
          sequence: { groupOrder: 0 },
          include: ["test-node/**/*.test.{ts,mjs}"],
          globalSetup: ["./test-support/shared-keyward.mjs"],
          environment: "node",
          // No file changes global state (no mocks, no process.env writes): one worker
          // serves several files instead of a fresh process each (seconds apiece here).
          isolate: false,
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
