// @ts-check
// A test origin for metered routes (docs/metering.md), as an LLM API would be:
//   POST /v1/chat?charge=N   answers JSON and reports its cost in Keyward-Charge
//   POST /v1/stream          streams server-sent events, no Keyward-Charge: settled later
//   POST /v1/fail            answers 500 (with a Keyward-Charge that chargeOn success ignores)
// It remembers the X-Keyward-Context token of each request, by request id, so a
// test can settle as the origin would. Given `others`, it hands every other path to
// that handler (the shared Keyward of the node tests: the echo origin) and counts
// and remembers only its own routes.
import { createServer } from "node:http";

/**
 * The route policy rules that meter this origin's routes (docs/metering.md): what each
 * holds at admission and when it is charged. A policy with rules denies every route
 * it does not list, so a Keyward that also serves other routes adds a catch-all after these.
 */
export const METERED_RULES = [
  { method: "POST", path: "/v1/chat", permission: null, reserve: 100 },
  { method: "POST", path: "/v1/stream", permission: null, reserve: 200, holdSeconds: 600 },
  { method: "POST", path: "/v1/fail", permission: null, reserve: 50, chargeOn: "success" },
];
const OWN = new Set(METERED_RULES.map((rule) => rule.path));

/** @param {{ port?: number, others?: import("node:http").RequestListener }} [options] */
export function startMeteredOrigin({ port = 0, others } = {}) {
  /** @type {Map<string, string>} */
  const contexts = new Map();
  let calls = 0;
  let lastContext = "";
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://origin");
    if (others !== undefined && !OWN.has(url.pathname)) return others(req, res);
    calls++;
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
        /** Its requests so far and the latest context token, as plain data (for another process). */
        state: () => ({ calls, lastContext }),
        close: () => server.close(),
      });
    }),
  );
}
