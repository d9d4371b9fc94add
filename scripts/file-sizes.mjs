// @ts-check
// Keeps the source in small rooms (issue 24): no file under src/ over 350 lines,
// and the two Durable Objects that every feature lands in (the key guard and the
// org ledger) shells of at most 250 lines that wire their concept modules. Run by
// `npm run lint`; exits 1 naming each file over its bound, and what to do.
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const SOURCE_MAX = 350;
/** The Durable Object shells: their verbs and wiring only, each concept in a module beside them. */
const SHELLS = { "src/guard/key-guard.ts": 250, "src/ledger/org-ledger.ts": 250 };
/** Built or generated files are not written by hand. */
const GENERATED = new Set(["src/admin/route-refs.js"]);

/**
 * Every .ts and .js file under `dir`, as paths from the repository's root.
 * @param {string} dir
 * @returns {string[]}
 */
function sources(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return /\.(ts|js|mjs)$/.test(entry.name) && !entry.name.endsWith(".d.ts") ? [relative(ROOT, path).split("\\").join("/")] : [];
  });
}

const over = [];
for (const file of sources(join(ROOT, "src"))) {
  if (GENERATED.has(file)) continue;
  const text = readFileSync(join(ROOT, file), "utf8");
  const lines = text.endsWith("\n") ? text.split("\n").length - 1 : text.split("\n").length;
  const max = SHELLS[/** @type {keyof typeof SHELLS} */ (file)] ?? SOURCE_MAX;
  if (lines > max) over.push(`${file}: ${lines} lines, over ${max}`);
}
for (const shell of Object.keys(SHELLS)) {
  if (!sources(join(ROOT, "src")).includes(shell)) over.push(`${shell}: missing (update SHELLS in scripts/file-sizes.mjs)`);
}
if (over.length > 0) {
  console.error(
    `Files over their size bound (scripts/file-sizes.mjs):\n  ${over.join("\n  ")}\n` +
      "Split the file by concept: a module per concept beside it, the Durable Object classes only their RPC verbs and wiring.",
  );
  process.exit(1);
}
