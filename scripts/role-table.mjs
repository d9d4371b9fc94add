// @ts-check
// Regenerates docs/role-table.md: runs the end-to-end test (a real OpenID provider,
// Keyward under `wrangler dev`, the echo origin), which observes what each role may
// do and renders it (test-node/support/role-table.mjs) into the file snapshot.
// Without this script, the same test fails when the table no longer matches.
//
//   node scripts/role-table.mjs
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const vitest = fileURLToPath(new URL("../node_modules/vitest/vitest.mjs", import.meta.url));
const result = spawnSync(process.execPath, [vitest, "run", "--project", "node", "test-node/oidc-e2e.test.mjs", "--update"], { cwd: root, stdio: "inherit" });
process.exit(result.status ?? 1);
