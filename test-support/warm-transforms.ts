// The vitest globalSetup of the "workers" project (vitest.config.ts): starts Vite's
// transforms of the Worker while the node project runs.
import { readFileSync } from "node:fs";
import { join, relative } from "node:path";
import type { TestProject } from "vitest/node";

type Environment = TestProject["vite"]["environments"][string];

/**
 * JavaScript, TypeScript and JSON files only. Not `cloudflare:test` (nor any other virtual
 * module): the pool adds the Worker's entry to it when it starts, and a transform cached
 * before that would lack it. Not the console's page, styles and texts either: the Worker
 * imports them as Text modules (wrangler.toml [[rules]]), which Vite cannot transform.
 */
const WARMED = /^\/[^\0?]*\.(ts|mts|js|mjs|json)$/;

/** Transforms `url` and, once that is done, everything it imports, each module once. */
async function warm(environment: Environment, url: string, seen: Set<string>): Promise<void> {
  if (seen.has(url) || !WARMED.test(url)) return;
  seen.add(url);
  await environment.warmupRequest(url);
  const node = await environment.moduleGraph.getModuleByUrl(url);
  await Promise.all([...(node?.importedModules ?? [])].map((imported) => warm(environment, imported.url, seen)));
}

/**
 * The workers project runs after the node project (groupOrder), and its first file
 * in each workerd used to wait seconds on Vite transforming the Worker's some 300
 * modules (the source, hono, zod, jose), which every file imports. The node project's
 * files mostly wait on processes of their own, so this starts those transforms at once,
 * from the Worker's entry (wrangler.toml's main) and the setup file, without waiting for
 * them: by the time the workers project starts they are cached, and a module not warmed
 * (or one whose warm-up failed: warmupRequest swallows errors) is transformed on request
 * as before. The test files are left to their runs: a run of one file transforms one.
 */
export default function setup(project: TestProject): void {
  const environment = project.vite.environments.ssr;
  if (environment === undefined) return;
  const root = project.config.root;
  const main = readFileSync(join(root, "wrangler.toml"), "utf8").match(/^main\s*=\s*"([^"]+)"/m)?.[1];
  const files = [...project.config.setupFiles, ...(main === undefined ? [] : [join(root, main)])];
  const seen = new Set<string>();
  void Promise.all(files.map((file) => warm(environment, `/${relative(root, file)}`, seen)));
}
