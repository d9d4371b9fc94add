// @ts-check
// `keyward init`: production secrets printed as `wrangler secret put` lines that a
// shell runs as they are (here against a stand-in npx that records what it gets).
import { execFileSync } from "node:child_process";
import { createPrivateKey, createPublicKey, sign, verify } from "node:crypto";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runKeyward } from "./support/cli-harness.mjs";

const dir = mkdtempSync(join(tmpdir(), "keyward-init-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the printed lines with sh, `npx` being a script that stores each secret by name. */
function runLines(lines) {
  const bin = join(dir, "bin");
  execFileSync("mkdir", ["-p", bin]);
  writeFileSync(join(bin, "npx"), `#!/bin/sh\necho "$@" >> "${dir}/calls"\ncat > "${dir}/secret-$4"\n`);
  chmodSync(join(bin, "npx"), 0o755);
  rmSync(join(dir, "calls"), { force: true });
  execFileSync("sh", ["-e"], { input: lines, env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
  return readFileSync(join(dir, "calls"), "utf8").trim().split("\n");
}

describe("keyward init", () => {
  it("prints lines that install a production signing key and operator token", async () => {
    const { code, stdout, stderr } = await runKeyward(["init"], { cwd: dir });
    expect(code).toBe(0);
    expect(runLines(stdout)).toEqual(["wrangler secret put KEYWARD_SIGNING_KEY", "wrangler secret put KEYWARD_OPERATOR_TOKEN"]);
    const jwk = JSON.parse(readFileSync(join(dir, "secret-KEYWARD_SIGNING_KEY"), "utf8"));
    expect(jwk).toMatchObject({ kty: "EC", crv: "P-256", d: expect.any(String) });
    // Keyward refuses "dev-" kids in production (src/config.ts).
    expect(jwk.kid).toMatch(/^k\d{8}-[0-9a-f]{6}$/);
    const data = Buffer.from("context");
    const signature = sign("sha256", data, createPrivateKey({ key: jwk, format: "jwk" }));
    const published = JSON.parse(/^ {2}(\{.*\})$/m.exec(stderr)?.[1] ?? "null");
    expect(published).toEqual({ kty: "EC", crv: "P-256", x: jwk.x, y: jwk.y, kid: jwk.kid });
    expect(verify("sha256", data, createPublicKey({ key: published, format: "jwk" }), signature)).toBe(true);
    const operatorToken = readFileSync(join(dir, "secret-KEYWARD_OPERATOR_TOKEN"), "utf8");
    expect(operatorToken).toMatch(/^[0-9a-f]{64}$/);
    expect(stderr).toContain(operatorToken);
    // Secrets are fresh every time.
    const again = await runKeyward(["init"], { cwd: dir });
    expect(again.stdout).not.toContain(operatorToken);
  });

  it("adds --env to every line, and --signing-key-only makes only a signing key", async () => {
    const { code, stdout, stderr } = await runKeyward(["init", "--env", "staging", "--signing-key-only"], { cwd: dir });
    expect(code).toBe(0);
    expect(runLines(stdout)).toEqual(["wrangler secret put KEYWARD_SIGNING_KEY --env staging"]);
    expect(stderr).not.toMatch(/Operator token/);
  });

  it("refuses an environment name wrangler would not take, before generating anything", async () => {
    const { code, stdout, stderr } = await runKeyward(["init", "--env", "prod; rm -rf /"], { cwd: dir });
    expect(code).toBe(2);
    expect(stdout).toBe("");
    expect(stderr).toMatch(/--env must be a wrangler environment name/);
  });
});
