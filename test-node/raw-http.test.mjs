// @ts-check
// Header bytes that no fetch() Headers object can carry, sent over a raw socket to
// Keyward running under `wrangler dev`: each must get a 4xx, never a 5xx or a hang.
import { connect } from "node:net";
import { describe, expect, it } from "vitest";
import { sharedKeyward } from "./support/shared.mjs";

const keyward = sharedKeyward();

function rawRequest(headerLines) {
  const { hostname, port } = new URL(keyward.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    const chunks = [];
    socket.setTimeout(15_000, () => socket.destroy(new Error("no answer within 15 s")));
    socket.on("data", (c) => chunks.push(c));
    socket.on("error", reject);
    socket.on("close", () => {
      const text = Buffer.concat(chunks).toString("latin1");
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), text });
    });
    const head = [`GET /v1/things HTTP/1.1`, `Host: ${hostname}:${port}`, "Connection: close", ...headerLines, "", ""].join("\r\n");
    // latin1 writes every character as the one byte it stands for: raw UTF-8 and control bytes go out as they are.
    socket.end(Buffer.from(head, "latin1"));
  });
}

const key = `sk_live_${"a".repeat(32)}00000000`;
const fullwidth = key.replace(/[0-9]/g, (d) => String.fromCharCode(0xff10 + Number(d)));

describe("raw header bytes against wrangler dev", () => {
  it.each([
    ["fullwidth digits (UTF-8 bytes)", [`Authorization: Bearer ${Buffer.from(fullwidth, "utf8").toString("latin1")}`]],
    ["non-ASCII latin-1", [`X-API-Key: ${key.slice(0, -1)}\u00e9`]],
    ["a token over 4 KiB", [`Authorization: Bearer ${"a".repeat(5000)}`]],
    ["a header near the platform limit", [`X-API-Key: ${"a".repeat(60_000)}`]],
    ["many large headers", Array.from({ length: 20 }, (_, i) => `X-Filler-${i}: ${"b".repeat(4000)}`)],
    ["a NUL byte in the token", [`Authorization: Bearer ${key}\u0000x`]],
  ])("answers %s with a 4xx", async (_name, lines) => {
    const { status, text } = await rawRequest(lines);
    expect(status, text.slice(0, 300)).toBeGreaterThanOrEqual(400);
    expect(status, text.slice(0, 300)).toBeLessThan(500);
  });

  it("answers a plain request without credentials with the documented 401 body", async () => {
    const { status, text } = await rawRequest([]);
    expect(status).toBe(401);
    expect(text).toContain('"code":"MISSING_AUTH_HEADER"');
  });
});
