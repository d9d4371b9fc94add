// Starts Keyward under `wrangler dev` on a free loopback port, in front of the demo
// echo origin, with fresh secrets and a throw-away state folder.
import { spawn } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SignJWT } from "jose";
import { startEchoOrigin } from "../demo/echo-origin.mjs";

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function waitFor(url, timeoutMs = 60_000) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url} did not come up within ${timeoutMs} ms`);
}

export async function startKeyward() {
  const originPort = await freePort();
  const origin = await startEchoOrigin({ port: originPort });
  const port = await freePort();
  const inspectorPort = await freePort();
  const state = mkdtempSync(join(tmpdir(), "keyward-browser-"));
  const devSecret = randomBytes(32).toString("hex");
  const jwk = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ format: "jwk" });
  const vars = {
    KEYWARD_ENV: "development",
    ORIGIN_URL: `http://127.0.0.1:${originPort}`,
    KEYWARD_SIGNING_KEY: JSON.stringify({ ...jwk, kid: "dev-browser" }),
    KEYWARD_DEV_JWT_SECRET: devSecret,
    KEYWARD_OPERATOR_TOKEN: `dev_op_${randomBytes(24).toString("hex")}`,
  };
  const args = ["dev", "--ip", "127.0.0.1", "--port", String(port), "--inspector-port", String(inspectorPort), "--persist-to", state];
  for (const [k, v] of Object.entries(vars)) args.push("--var", `${k}:${v}`);
  const child = spawn("wrangler", args, {
    env: { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false", CI: "true" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (d) => (output += d));
  child.stderr.on("data", (d) => (output += d));
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor(`${url}/_keyward/health`);
  } catch (error) {
    child.kill("SIGKILL");
    throw new Error(`${error.message}\n${output}`);
  }
  return {
    url,
    async adminToken(org, role = "org:admin") {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ org_id: org, org_role: role })
        .setProtectedHeader({ alg: "HS256" })
        .setSubject("browser-admin")
        .setIssuedAt(now)
        .setExpirationTime(now + 600)
        .sign(new TextEncoder().encode(devSecret));
    },
    async stop() {
      child.kill("SIGINT");
      await new Promise((resolve) => {
        const timer = setTimeout(() => {
          child.kill("SIGKILL");
          resolve();
        }, 5_000);
        child.once("exit", () => {
          clearTimeout(timer);
          resolve();
        });
      });
      origin.close();
      rmSync(state, { recursive: true, force: true });
    },
  };
}
