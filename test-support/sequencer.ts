// The order in which `npm test` starts its files (vitest.config.ts, sequence.sequencer).
import { BaseSequencer, type TestSpecification } from "vitest/node";

/**
 * Files that take long for their size, longest first. The node project's: each waits
 * many seconds on processes of its own (two dry-run deploys; npm pack, npm install and
 * tsc; a wrangler dev for the OpenID tests). Started first, they
 * run beside the short files instead of after them. The workers project's: one or two
 * tests over thousands of keys each, in files small enough to be started last, where
 * one of them ended the run seconds after the other lane had finished.
 * Vitest's own order (files that failed, then the slowest of the last run, then the
 * largest) decides the rest, and alone on a fresh clone, with no last run, it started
 * files by size: the longest, deploy-check, seventh, and the node project ended with it.
 */
const FIRST = [
  "test-node/deploy-check.test.mjs",
  "test-node/origin-package.test.mjs",
  "test-node/oidc-e2e.test.mjs",
  "test/org-usage-size.test.ts",
  "test/usage-refusals.test.ts",
];

const rank = (spec: TestSpecification): number => {
  const index = FIRST.findIndex((file) => spec.moduleId.endsWith(`/${file}`));
  return index === -1 ? FIRST.length : index;
};

/** Vitest's order, with the files of FIRST moved to the front in their order. */
export class LongestFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    return (await super.sort(files)).sort((a, b) => rank(a) - rank(b));
  }
}
