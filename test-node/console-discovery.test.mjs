// @ts-check
// A newcomer finds the console from the command line.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const BIN = fileURLToPath(new URL("../bin/keyward.js", import.meta.url));

// A real process (bin/keyward.js), as a newcomer runs it.

describe("keyward --help", () => {
  it("mentions the console and where it is", () => {
    const run = spawnSync(process.execPath, [BIN, "--help"], { encoding: "utf8", env: { PATH: process.env.PATH, NO_COLOR: "1" } });
    expect(run.status).toBe(0);
    expect(run.stdout).toContain("/_keyward/console");
  });
});
