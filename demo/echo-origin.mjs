// @ts-check
// The demo origin: answers every request with JSON describing what it received,
// so a person (or a test) sees exactly what Keyward forwarded.
import { createServer } from "node:http";

/**
 * Answers one request with JSON describing what it received (method, path, headers, body).
 * @type {import("node:http").RequestListener}
 */
export function echo(req, res) {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const body = Buffer.concat(chunks).toString("utf8");
    const payload = { method: req.method, path: req.url, headers: req.headers, ...(body ? { body } : {}) };
    res.writeHead(200, { "content-type": "application/json" });
    res.end(`${JSON.stringify(payload, null, 2)}\n`);
  });
}

export function startEchoOrigin({ port = 8788, host = "127.0.0.1" } = {}) {
  const server = createServer(echo);
  return new Promise((resolve) => server.listen(port, host, () => resolve(server)));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const port = Number(process.env.PORT ?? 8788);
  await startEchoOrigin({ port });
  console.log(`demo origin listening on http://127.0.0.1:${port}`);
}
