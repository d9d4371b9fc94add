// Runs the origin examples (Python with PyJWT, plain Node with jose) behind a live
// Keyward (`wrangler dev`, as `npm run dev` runs it) and checks that each one
// verifies real context tokens, binding included, and refuses a token replayed on
// another path, query or method, a forged one, and a request without one.
// .ci/run runs it; locally: node examples/origins/check.mjs
// PYTHON names the interpreter that has PyJWT (default: python3).
import { spawn } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { createServer, request } from "node:http";
import { fileURLToPath } from "node:url";
import { SignJWT } from "jose";
import { freePort, startKeywardDev } from "../../test-support/wrangler-dev.mjs";

const here = (path) => fileURLToPath(new URL(path, import.meta.url));
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Forwards every request to the example origin unchanged and remembers the last
 * context token that came through, so the check can replay a real one.
 */
function startRecorder(port, targetPort) {
  const seen = [];
  const server = createServer((req, res) => {
    if (req.headers["x-keyward-context"]) seen.push({ method: req.method, target: req.url, token: req.headers["x-keyward-context"] });
    const upstream = request({ host: "127.0.0.1", port: targetPort, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on("error", () => {
      res.writeHead(502);
      res.end();
    });
    req.pipe(upstream);
  });
  return new Promise((resolve) => server.listen(port, "127.0.0.1", () => resolve({ server, seen })));
}

/** Starts an example origin and waits until it answers. */
async function startExample(name, command, args, port, keywardUrl) {
  let output = "";
  const child = spawn(command, args, { env: { ...process.env, PORT: String(port), KEYWARD_URL: keywardUrl }, stdio: ["ignore", "pipe", "pipe"] });
  child.stdout.on("data", (d) => {
    output += d;
  });
  child.stderr.on("data", (d) => {
    output += d;
  });
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`the ${name} origin exited (${child.exitCode}):\n${output}`);
    try {
      await fetch(`http://127.0.0.1:${port}/`);
      return { child, output: () => output };
    } catch {}
    await sleep(100);
  }
  child.kill();
  throw new Error(`the ${name} origin did not start:\n${output}`);
}

/** A request with exactly these headers, straight to a port (node:http adds nothing Keyward-like). */
function call(port, method, target, headers) {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, method, path: target, headers }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c) => {
        text += c;
      });
      res.on("end", () => resolve({ status: res.statusCode, body: text ? JSON.parse(text) : null }));
    });
    req.on("error", reject);
    req.end();
  });
}

let failures = 0;
function check(what, ok, detail) {
  console.log(`${ok ? "ok  " : "FAIL"} ${what}${ok ? "" : `: ${JSON.stringify(detail)}`}`);
  if (!ok) failures++;
}

const python = process.env.PYTHON ?? "python3";
const ports = { python: await freePort(), node: await freePort(), recPython: await freePort(), recNode: await freePort() };
const recorders = { python: await startRecorder(ports.recPython, ports.python), node: await startRecorder(ports.recNode, ports.node) };
const devSecret = randomBytes(32).toString("hex");
const operatorToken = `dev_op_${randomBytes(24).toString("hex")}`;
const jwk = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ format: "jwk" });
const children = [];
let keyward;
try {
  // Live keys go to the Python origin, test keys to the Node one; the test origin
  // sits under a path prefix, which the token's htp includes.
  keyward = await startKeywardDev({
    vars: {
      KEYWARD_ENV: "development",
      ORIGIN_URL: `http://127.0.0.1:${ports.recPython}`,
      ORIGIN_URL_TEST: `http://127.0.0.1:${ports.recNode}/api`,
      KEYWARD_SIGNING_KEY: JSON.stringify({ ...jwk, kid: "dev-origin-examples" }),
      KEYWARD_DEV_JWT_SECRET: devSecret,
      KEYWARD_OPERATOR_TOKEN: operatorToken,
    },
  });
  children.push(await startExample("python", python, [here("python/origin.py")], ports.python, keyward.url));
  children.push(await startExample("node", process.execPath, [here("node/origin.mjs")], ports.node, keyward.url));

  const org = `org_examples_${Date.now().toString(36)}`;
  // A key with credits is a grant of money: the operator creates it.
  const createKey = async (environment) => {
    const res = await fetch(`${keyward.url}/_keyward/v1/orgs/${org}/keys`, {
      method: "POST",
      headers: { authorization: `Bearer ${operatorToken}`, "content-type": "application/json" },
      body: JSON.stringify({ label: `${environment} example`, environment, credits: { remaining: 100 }, meta: { plan: "pro" } }),
    });
    if (res.status !== 201) throw new Error(`creating a ${environment} key: ${res.status} ${await res.text()}`);
    return res.json();
  };

  // A key of the same kid but another private key: what a forger could sign.
  const forger = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey;

  for (const [name, environment, prefix] of [
    ["python", "live", ""],
    ["node", "test", "/api"],
  ]) {
    const { key, id } = await createKey(environment);
    const target = "/v1/orders?status=open&q=caf%C3%A9";
    const through = await call(new URL(keyward.url).port, "GET", target, { authorization: `Bearer ${key}` });
    const b = through.body ?? {};
    check(`${name}: a request through Keyward is verified (binding included)`, through.status === 200 && b.verifiedBy === name, through);
    check(
      `${name}: the verified claims are the key's`,
      b.org === org && b.keyId === id && b.environment === environment && b.path === `${prefix}/v1/orders` && b.method === "GET",
      b,
    );
    check(`${name}: credits and meta arrive in the token`, b.credits === 99 && b.meta?.plan === "pro", b);

    const recorded = recorders[name].seen.at(-1);
    check(`${name}: the recorder saw the token Keyward sent`, recorded?.target === `${prefix}${target}`, recorded);
    if (!recorded) continue;
    const port = ports[name];
    const direct = (method, path, token) => call(port, method, path, token === undefined ? {} : { "x-keyward-context": token });
    const same = await direct("GET", recorded.target, recorded.token);
    check(`${name}: control: the same token on the same request verifies directly too`, same.status === 200, same);
    const otherPath = await direct("GET", `${prefix}/v1/admin/users?status=open&q=caf%C3%A9`, recorded.token);
    check(`${name}: the token replayed on another path is refused`, otherPath.status === 401 && /path/.test(otherPath.body?.reason), otherPath);
    const otherQuery = await direct("GET", `${prefix}/v1/orders?status=closed&q=caf%C3%A9`, recorded.token);
    check(`${name}: the token replayed with another query is refused`, otherQuery.status === 401 && /query/.test(otherQuery.body?.reason), otherQuery);
    const otherMethod = await direct("DELETE", recorded.target, recorded.token);
    check(`${name}: the token replayed with another method is refused`, otherMethod.status === 401, otherMethod);
    const none = await direct("GET", recorded.target, undefined);
    check(`${name}: a request without a token is refused`, none.status === 401, none);
    const [header, payload] = recorded.token.split(".");
    const forged = await new SignJWT(JSON.parse(Buffer.from(payload, "base64url").toString()))
      .setProtectedHeader(JSON.parse(Buffer.from(header, "base64url").toString()))
      .sign(forger);
    const forgedAnswer = await direct("GET", recorded.target, forged);
    check(`${name}: a token signed with another key (same kid) is refused`, forgedAnswer.status === 401, forgedAnswer);
  }
} finally {
  for (const { child } of children) child.kill();
  for (const { server } of Object.values(recorders)) server.close();
  await keyward?.stop();
}
if (failures > 0) {
  console.error(`${failures} origin example check(s) failed`);
  process.exit(1);
}
console.log("origin examples: every check passed");
