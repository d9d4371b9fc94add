// @ts-check
// The origin every scenario forwards to: a tiny keep-alive HTTP server on
// loopback, run as its own process so that it never shares an event loop with
// the load generator. It answers a constant 200 JSON body, and records the
// arrival time of requests that carry `x-bench-tag` (the accuracy phase counts
// admissions from these). Control routes: GET /__origin/tag?name=T, GET /__origin/stats.
import http from "node:http";

const BODY = Buffer.from('{"ok":true}');
const HEADERS = { "content-type": "application/json", "content-length": String(BODY.length) };
// The metered scenario's route: the answer reports its cost (docs/metering.md), as an LLM API would.
const METERED = { ...HEADERS, "keyward-charge": "37" };
const tags = new Map();
const METERED_PATH = "/v1/metered";
let served = 0;

const server = http.createServer((req, res) => {
  if (req.url?.startsWith("/__origin/")) {
    const url = new URL(req.url, "http://origin");
    let body;
    if (url.pathname === "/__origin/tag") {
      const name = url.searchParams.get("name") ?? "";
      body = JSON.stringify(tags.get(name) ?? []);
      tags.delete(name);
    } else {
      body = JSON.stringify({ served });
    }
    res.writeHead(200, { "content-type": "application/json" });
    res.end(body);
    return;
  }
  served++;
  const tag = req.headers["x-bench-tag"];
  if (typeof tag === "string") {
    const at = performance.timeOrigin + performance.now();
    const times = tags.get(tag);
    if (times === undefined) tags.set(tag, [at]);
    else times.push(at);
  }
  req.resume();
  res.writeHead(200, req.url === METERED_PATH ? METERED : HEADERS);
  res.end(BODY);
});
server.keepAliveTimeout = 120_000;
server.headersTimeout = 130_000;
server.maxRequestsPerSocket = 0;
server.listen(0, "127.0.0.1", () => {
  process.send?.({ port: /** @type {import("node:net").AddressInfo} */ (server.address()).port });
});
process.on("disconnect", () => process.exit(0));
