// @ts-check
// A test origin for metered routes (docs/metering.md), as an LLM API would be:
//   POST /v1/chat?charge=N   answers JSON and reports its cost in Keyward-Charge
//   POST /v1/stream          streams server-sent events, no Keyward-Charge: settled later
//   POST /v1/fail            answers 500 (with a Keyward-Charge that chargeOn success ignores)
// It remembers the X-Keyward-Context token of each request, by request id, so a
// test can settle as the origin would.
import { createServer } from "node:http";

/** @param {{ port?: number }} [options] */
export function startMeteredOrigin({ port = 0 } = {}) {
  /** @type {Map<string, string>} */
  const contexts = new Map();
  let calls = 0;
  let lastContext = "";
  const server = createServer((req, res) => {
    calls++;
    const url = new URL(req.url ?? "/", "http://origin");
    const id = String(req.headers["x-keyward-request-id"] ?? "");
    lastContext = String(req.headers["x-keyward-context"] ?? "");
    contexts.set(id, lastContext);
    req.resume();
    req.on("end", () => {
      if (url.pathname === "/v1/chat") {
        res.writeHead(200, { "content-type": "application/json", "keyward-charge": url.searchParams.get("charge") ?? "0" });
        res.end(JSON.stringify({ id, answer: "hello" }));
      } else if (url.pathname === "/v1/stream") {
        res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
        let n = 0;
        const tick = setInterval(() => {
          res.write(`data: {"token":${n}}\n\n`);
          if (++n === 3) {
            clearInterval(tick);
            res.end("data: [DONE]\n\n");
          }
        }, 20);
      } else if (url.pathname === "/v1/fail") {
        res.writeHead(500, { "content-type": "application/json", "keyward-charge": "40" });
        res.end(JSON.stringify({ error: "model overloaded" }));
      } else {
        res.writeHead(404, { "content-type": "application/json" });
        res.end("{}");
      }
    });
  });
  return new Promise((resolve) =>
    server.listen(port, "127.0.0.1", () => {
      const address = /** @type {import("node:net").AddressInfo} */ (server.address());
      resolve({
        url: `http://127.0.0.1:${address.port}`,
        /** The context token the origin received with request `id`. */
        contextOf: (/** @type {string} */ id) => contexts.get(id) ?? null,
        get calls() {
          return calls;
        },
        /** The context token of the latest request. */
        get lastContext() {
          return lastContext;
        },
        close: () => server.close(),
      });
    }),
  );
}
