// Fresh modules for each test file of the "workers" project (test/support/fresh-storage.ts).
import { vi } from "vitest";

/** A module of the Vite module runner, as far as this file reads and writes it. */
interface ModuleNode {
  promise?: unknown;
  exports?: unknown;
  evaluated: boolean;
}
type WorkerState = { evaluatedModules?: { idToModuleMap?: Map<string, ModuleNode> } };

/**
 * vi.resetModules() for this project's own modules (src/, test/, the route policy,
 * cloudflare:test, which imports the Worker): each file gets them, and their
 * module-level state (the built app and its caches), fresh. The installed packages
 * (hono, zod, jose, ipaddr.js, standardwebhooks; bundled into one module each by the
 * project's deps optimizer, vitest.config.ts, under node_modules/.vite) stay evaluated:
 * they hold nothing a test changes, and evaluating them again for each of some 70
 * files cost about 12 s of CPU per run (0.2 to 0.5 s a file against 0.05 to 0.1 s for
 * the project's own). Reads vitest's worker state, which
 * is internal: without it, every module is re-imported as before.
 */
export function resetOwnModules(): void {
  const modules = (globalThis as { __vitest_worker__?: WorkerState }).__vitest_worker__?.evaluatedModules?.idToModuleMap;
  const kept = [...(modules ?? [])].filter(([id, node]) => id.includes("/node_modules/") && node.evaluated).map(([, node]) => ({ node, ...node }));
  vi.resetModules();
  for (const { node, promise, exports, evaluated } of kept) Object.assign(node, { promise, exports, evaluated });
}
