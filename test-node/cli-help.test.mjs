// @ts-check
// Every command's `--help` against what its parser accepts: the help lists exactly
// the command's options and the global options that apply to it, and the parser takes
// each listed option and refuses the global ones left out. Runs the CLI in-process.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { defineCommand } from "../cli/command.js";
import { COMMANDS } from "../cli/commands/index.js";
import { main } from "../cli/main.js";

const cwd = mkdtempSync(join(tmpdir(), "keyward-cli-help-"));
afterAll(() => rmSync(cwd, { recursive: true, force: true }));

/** Runs `keyward ...args` with no settings at all: nothing can be sent anywhere. */
async function run(args) {
  let stdout = "";
  let stderr = "";
  const code = await main(args, {
    out: (text) => {
      stdout += text;
    },
    err: (text) => {
      stderr += text;
    },
    env: {},
    cwd,
  });
  return { code, stdout, stderr };
}

/** The long flags of the option lists in a help text (lines "  --name ..." or "  -x, --name ..."). */
function listedFlags(help) {
  return [...help.matchAll(/^ {2}(?:-\w, )?--([\w-]+)/gm)].map((m) => m[1]);
}

/** Which global options each command takes: local ones none, the operator-only org limit no --token. */
const EXPECTED_GLOBALS = {
  init: [],
  token: [],
  "org limit set": ["url", "json"],
  "org limit clear": ["url", "json"],
  "org credits set": ["url", "json"],
  "org credits clear": ["url", "json"],
};
/** @type {("url" | "token" | "json")[]} */
const ALL_GLOBALS = ["url", "token", "json"];

describe("each command's --help comes from its definition", () => {
  it("defines the commands keyward --help lists, each once", async () => {
    const { code, stdout } = await run(["--help"]);
    expect(code).toBe(0);
    const names = COMMANDS.map((c) => c.name);
    expect(new Set(names).size).toBe(names.length);
    for (const name of names) expect(stdout).toMatch(new RegExp(`^ {2}${name} {2,}\\S`, "m"));
    expect(names.length).toBeGreaterThanOrEqual(17);
  });

  it.each(COMMANDS.map((c) => [c.name, c]))("%s --help lists exactly its options and the globals that apply", async (name, command) => {
    const { code, stdout, stderr } = await run([...name.split(" "), "--help"]);
    expect(code).toBe(0);
    expect(stderr).toBe("");
    expect(stdout.startsWith(`Usage: keyward ${name}`)).toBe(true);

    const globals = EXPECTED_GLOBALS[name] ?? ALL_GLOBALS;
    const own = Object.keys(command.options).filter((flag) => !(/** @type {string[]} */ (ALL_GLOBALS).includes(flag)) && flag !== "help");
    expect(command.globals).toEqual(globals);
    // Exactly the command's own options, then the globals it takes, then --help; nothing twice.
    expect(listedFlags(stdout)).toEqual([...own, ...globals, "help"]);
    // The usage line names them too.
    for (const flag of own) expect(stdout.split("\n\n")[0]).toContain(`--${flag}`);
  });

  it.each(COMMANDS.map((c) => [c.name, c]))("%s parses every option its help lists and refuses the globals it leaves out", async (name, command) => {
    const { stdout: help } = await run([...name.split(" "), "--help"]);
    const args = [];
    for (const flag of listedFlags(help)) {
      if (flag === "help" || flag === "org") continue;
      args.push(`--${flag}`);
      if (command.options[flag]?.type === "string") args.push(flag === "url" ? "http://127.0.0.1:9" : "1");
    }
    // Everything listed but --org: the parser takes it all and stops at the missing --org, before sending anything.
    // A local command without --org (init) takes it all and runs.
    const org = "org" in command.options;
    const accepted = await run([...name.split(" "), ...args]);
    expect(accepted.code, accepted.stderr).toBe(org ? 2 : 0);
    if (org) expect(accepted.stderr).toContain(`keyward ${name}: missing required option --org`);

    for (const flag of ALL_GLOBALS.filter((g) => !command.globals.includes(g))) {
      const refused = await run([...name.split(" "), ...(org ? ["--org", "acme"] : []), `--${flag}`, ...(flag === "json" ? [] : ["x"])]);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain(`Unknown option '--${flag}'`);
    }
  });

  it("refuses to define a command whose own option is a global one, so one flag has one meaning", () => {
    const run = async () => {};
    for (const name of ["url", "token", "json", "help"]) {
      const options = { [name]: { type: /** @type {const} */ ("boolean"), help: "x" } };
      expect(() => defineCommand({ name: "x", summary: "x", options, globals: [], run }), name).toThrow(`--${name} is a global option`);
    }
    expect(() => defineCommand({ name: "x", summary: "x", options: { org: { type: "boolean", help: "x" } }, globals: ["url"], run })).not.toThrow();
  });

  it.each([
    ["keys", ["create", "list", "get", "revoke", "roll", "revoke-all", "credits", "disable", "enable", "meta"], ALL_GLOBALS],
    ["org", ["limit set", "limit clear", "credits set", "credits clear"], ["url", "json"]],
    ["org credits", ["set", "clear"], ["url", "json"]],
    ["org limit", ["set", "clear"], ["url", "json"]],
    ["limit", ["set"], ALL_GLOBALS],
  ])("the %s group's help lists its commands and the globals any of them takes", async (group, subcommands, globals) => {
    const { code, stdout } = await run([...group.split(" "), "--help"]);
    expect(code).toBe(0);
    expect(stdout).toContain(`Usage: keyward ${group} <${subcommands.join("|")}>`);
    expect(listedFlags(stdout)).toEqual([...globals, "help"]);
  });
});
