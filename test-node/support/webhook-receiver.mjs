// @ts-check
// A webhook receiver on 127.0.0.1 for the HTTP tests: it records every delivery
// (headers and raw body, for Standard Webhooks verification) and answers 204.
import { createServer } from "node:http";

/**
 * Starts the receiver on a free port.
 * @returns {Promise<{ url: string, received: { headers: Record<string, string>, body: string }[], close: () => void }>}
 */
export function startWebhookReceiver() {
  /** @type {{ headers: Record<string, string>, body: string }[]} */
  const received = [];
  const server = createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (d) => {
      body += d;
    });
    req.on("end", () => {
      // A delivery carries no repeated header (set-cookie), so every value is one string.
      received.push({ headers: /** @type {Record<string, string>} */ (req.headers), body });
      res.writeHead(204);
      res.end();
    });
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      const { port } = /** @type {import("node:net").AddressInfo} */ (server.address());
      resolve({ url: `http://127.0.0.1:${port}`, received, close: () => server.close() });
    });
  });
}
