// @ts-check
// The installable helpers (packages/keyward): `npm pack` gives a tarball that an
// empty project installs (offline: jose comes from the npm cache), imports on
// plain Node 20 and 22, and uses to verify a real context token from a live
// Keyward; a TypeScript project type-checks against its declarations.
import { execFile, execFileSync } from "node:child_process";
import { accessSync, constants, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const PACKAGE = join(ROOT, "packages", "keyward");
const TSC = join(ROOT, "node_modules", "typescript", "bin", "tsc");
// Asynchronous where the echo origin (in this process) must answer meanwhile.
const run = promisify(execFile);

/** Every distinct Node on PATH outside node_modules (the system's), and the one running the tests. */
function nodes() {
  const found = new Set([process.execPath]);
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir.includes("node_modules")) continue;
    try {
      accessSync(join(dir, "node"), constants.X_OK);
      found.add(join(dir, "node"));
      break;
    } catch {}
  }
  return [...found];
}

const NPM_FLAGS = ["--no-audit", "--no-fund", "--loglevel=error"];
const NPM_ENV = { ...process.env, npm_config_update_notifier: "false" };
const npm = (args, cwd) => execFileSync("npm", [...args, ...NPM_FLAGS], { cwd, encoding: "utf8", env: NPM_ENV });

// What the consumers run: the client makes the call through Keyward, the origin
// helper verifies what the echo origin received, then the same token on another path.
const CONSUMER = `
import { createRemoteJWKSet } from "jose";
import { Client, KeywardApiError } from "keyward/client";
import { verifyKeywardContext, ContextVerificationError } from "keyward/origin";

const [keywardUrl, apiKey] = process.argv.slice(2);
const api = new Client({ apiKey, baseUrl: keywardUrl });
const seen = await (await api.fetch("/v1/package-check?n=1")).json();
const headers = new Headers(seen.headers);
const jwks = createRemoteJWKSet(new URL("/_keyward/.well-known/jwks.json", keywardUrl));
const who = await verifyKeywardContext({ method: seen.method, url: "http://origin" + seen.path, headers }, { jwks });
let replay = "accepted";
try {
  await verifyKeywardContext({ method: seen.method, url: "http://origin/v1/other?n=1", headers }, { jwks });
} catch (error) {
  replay = error instanceof ContextVerificationError ? error.message : "wrong error";
}
let refusal = null;
try {
  await new Client({ apiKey: apiKey.slice(0, -1) + (apiKey.endsWith("0") ? "1" : "0"), baseUrl: keywardUrl }).fetch("/v1/x");
} catch (error) {
  refusal = error instanceof KeywardApiError ? error.code : "wrong error";
}
console.log(JSON.stringify({ node: process.version, who, replay, refusal }));
`;

const TS_OK = `
import { verifyKeywardContext, type KeywardIdentity } from "keyward/origin";
import { Client } from "keyward/client";
import { createLocalJWKSet } from "jose";
export async function check(request: Request): Promise<string> {
  const who: KeywardIdentity = await verifyKeywardContext(request, { jwks: createLocalJWKSet({ keys: [] }) });
  const res: Response = await new Client({ apiKey: "sk_live_x" }).fetch("/v1/x");
  return who.org + res.status;
}
`;
// Proves the declarations are real types, not \`any\`: both lines must fail.
const TS_WRONG = `
import { verifyKeywardContext } from "keyward/origin";
import { Client } from "keyward/client";
export async function wrong(request: Request): Promise<number> {
  new Client({ apiKey: 42 });
  return (await verifyKeywardContext(request, { jwks: "not a key set" })).org;
}
`;

let dir;
let project;
/** @type {Promise<unknown>} Node's types for the TypeScript check, installed beside the project. */
let nodeTypes;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "keyward-package-"));
  // Node's types go into the project's parent, where tsc looks too (every ancestor's
  // node_modules/@types), so the project's own node_modules holds only what the package
  // brought. Installed while the package is packed, not after: this file is the longest
  // of npm test's node project, which the workers project waits for.
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "types-for-the-check", private: true }));
  nodeTypes = run("npm", ["install", "--prefer-offline", "@types/node@22", ...NPM_FLAGS], { cwd: dir, encoding: "utf8", env: NPM_ENV });
  // Its test reports a failure; until then it is not an unhandled rejection.
  nodeTypes.catch(() => {});
  // prepack compiles src/origin and src/client into dist/ with declarations.
  npm(["pack", "--pack-destination", dir], PACKAGE);
  project = join(dir, "project");
  mkdirSync(project);
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: "an-origin", private: true, type: "module" }));
  const tarball = readdirSync(dir).find((f) => f.endsWith(".tgz"));
  if (tarball === undefined) throw new Error(`npm pack left no tarball in ${dir}`);
  npm(["install", "--prefer-offline", join(dir, tarball)], project);
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("the packed keyward helpers in an empty project", () => {
  it("hold compiled JavaScript and declarations, and install jose and nothing of the gateway", () => {
    const installed = readdirSync(join(project, "node_modules"))
      .filter((name) => !name.startsWith("."))
      .sort();
    expect(installed).toEqual(["jose", "keyward"]);
    const files = readdirSync(join(project, "node_modules", "keyward", "dist"), { recursive: true }).sort();
    expect(files).toEqual(expect.arrayContaining(["client/client.d.ts", "client/client.js", "origin/verify-context.d.ts", "origin/verify-context.js"]));
    expect(files.some((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"))).toBe(false);
  });

  it("imports on plain Node and verifies a real token from a live Keyward, refusing it on another path", async () => {
    // Imported here, not with the file: it waits for the shared Keyward to boot, and
    // packing and installing (beforeAll) need no Keyward, so they run meanwhile.
    const { sharedKeyward } = await import("./support/shared.mjs");
    const keyward = sharedKeyward();
    const org = `org_pkg_${Date.now().toString(36)}`;
    const created = await fetch(`${keyward.url}/_keyward/v1/orgs/${org}/keys`, {
      method: "POST",
      headers: { authorization: `Bearer ${await keyward.adminToken(org)}`, "content-type": "application/json" },
      body: JSON.stringify({ label: "package check", meta: { plan: "pro" } }),
    });
    const { key, id } = await created.json();
    writeFileSync(join(project, "consumer.mjs"), CONSUMER);
    const versions = [];
    for (const node of nodes()) {
      const out = JSON.parse((await run(node, ["consumer.mjs", keyward.url, key], { cwd: project, encoding: "utf8" })).stdout);
      versions.push(out.node);
      expect(out.who).toMatchObject({ org, keyId: id, environment: "live", meta: { plan: "pro" } });
      expect(out.replay).toMatch(/another method or path/);
      expect(out.refusal).toBe("INVALID_API_KEY");
    }
    console.log(`verified on Node ${versions.join(" and ")}`);
    expect(versions.length).toBeGreaterThan(0);
  });

  it("type-checks a TypeScript project against its declarations, and rejects wrong use", async () => {
    await nodeTypes;
    writeFileSync(
      join(project, "tsconfig.json"),
      JSON.stringify({ compilerOptions: { strict: true, module: "nodenext", moduleResolution: "nodenext", target: "es2022", noEmit: true, types: ["node"] } }),
    );
    writeFileSync(join(project, "ok.ts"), TS_OK);
    writeFileSync(join(project, "wrong.ts"), TS_WRONG);
    // One compile of both files (tsc takes seconds of CPU here): it fails, and its errors are
    // on wrong.ts's two lines only; none in ok.ts, the declarations or the setup.
    let output = "";
    try {
      execFileSync(process.execPath, [TSC, "-p", "tsconfig.json"], { cwd: project, encoding: "utf8" });
    } catch (error) {
      output = String(/** @type {{ stdout: unknown }} */ (error).stdout);
    }
    const errors = output.split("\n").filter((line) => /error TS\d+/.test(line));
    expect(new Set(errors.map((line) => line.replace(/,\d+\): error (TS\d+).*/, ") $1")))).toEqual(new Set(["wrong.ts(5) TS2322", "wrong.ts(6) TS2322"]));
  });
});
