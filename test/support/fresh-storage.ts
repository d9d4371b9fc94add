// Each test file of the "workers" project starts as on a runtime of its own
// (vitest.config.ts): the project shares one workerd across files (isolate: false),
// since starting one per file cost seconds apiece. This setup file runs before
// each test file: it deletes every Durable Object and KV entry the files before
// it left, and re-imports the source modules fresh (their module-level state).
import { reset } from "cloudflare:test";
import { resetOwnModules } from "./reset-own-modules";

/** Globals a test may replace (fake timers, spies): each file must leave the real ones behind. */
const GLOBALS = ["setTimeout", "clearTimeout", "setInterval", "clearInterval", "Date", "fetch"] as const;
type Originals = Record<(typeof GLOBALS)[number], unknown>;
const ORIGINALS = Symbol.for("keyward.test.originalGlobals");
const holder = globalThis as unknown as Record<symbol, Originals | undefined>;
// The first file's globals are the runtime's own; saved once, compared on every later file.
holder[ORIGINALS] ??= Object.fromEntries(GLOBALS.map((name) => [name, globalThis[name]])) as Originals;
const originals = holder[ORIGINALS];
const replaced = GLOBALS.filter((name) => globalThis[name] !== originals[name]);
if (replaced.length > 0) {
  throw new Error(`a test file before this one left globalThis.${replaced.join(", ")} replaced (fake timers or a spy not undone); restore it in that file`);
}

await reset();
resetOwnModules();
