// @ts-check
// Bundles the console's browser program (src/console/browser, TypeScript) into one
// ES module that the Worker serves as /_keyward/console/app.js. Run by wrangler's
// [build] step (dev and deploy) and by the vitest config, so the bundle is never stale
// and never committed. `--check` only reports whether it would change.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildSync } from "esbuild";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
/** Where the bundle goes; src/console/routes.ts imports it as a Text module (wrangler.toml [[rules]]). */
export const CONSOLE_BUNDLE = join(ROOT, ".build", "console", "app.js.txt");

/** Bundles synchronously (the vitest config calls it while loading); returns the bundle's path. */
export function buildConsole() {
  const result = buildSync({
    entryPoints: [join(ROOT, "src", "console", "browser", "main.ts")],
    bundle: true,
    format: "esm",
    target: "es2022",
    platform: "browser",
    write: false,
    minify: false,
    legalComments: "none",
    logLevel: "error",
  });
  const text = result.outputFiles[0]?.text ?? "";
  mkdirSync(dirname(CONSOLE_BUNDLE), { recursive: true });
  /** @type {string | null} */
  let previous = null;
  try {
    previous = readFileSync(CONSOLE_BUNDLE, "utf8");
  } catch {}
  // Unchanged bundles are not rewritten, so wrangler's file watcher does not loop.
  if (previous !== text) writeFileSync(CONSOLE_BUNDLE, text);
  return CONSOLE_BUNDLE;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  buildConsole();
}
