import { defineConfig } from "vitest/config";

// Browser tests: Debian's Chromium driven by playwright-core against `wrangler dev`.
// Run with `npm run test:browser` (.ci/run installs chromium first).
export default defineConfig({
  test: { include: ["test-browser/**/*.test.mjs"], environment: "node", testTimeout: 120_000, hookTimeout: 120_000 },
});
