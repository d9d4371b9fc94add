// Preloaded by `npm run cycles` (madge --circular). madge parses TypeScript with
// @typescript-eslint/typescript-estree, which needs the TypeScript 5 API; this
// project compiles with TypeScript 7, whose package has no such API, and npm has
// hoisted it where the parser looks. madge's own dependency tree ships a
// TypeScript 5 (precinct's); this points the parser's `require("typescript")`
// there, for this process only. Nothing else is affected.
const Module = require("node:module");

const fromMadge = Module.createRequire(require.resolve("madge"));
const fromPrecinct = Module.createRequire(fromMadge.resolve("precinct"));
const typescript5 = fromPrecinct.resolve("typescript");

const resolve = Module._resolveFilename;
Module._resolveFilename = function resolveTypescript5(request, parent, ...rest) {
  if (request === "typescript") return typescript5;
  return resolve.call(this, request, parent, ...rest);
};
