// @ts-check
// Load generation with autocannon's programmatic API. Every scenario gets the
// same request shape: GET /v1/things with `Authorization: Bearer <key>`, the key
// picked per request from a list (one key for a hot key, many for the 10k run),
// so the load generator does the same work whatever the target.
import autocannon from "autocannon";

/** Nearest-rank percentile of a sorted Float64Array. */
export function percentile(sorted, p) {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

/**
 * Runs one bounded load: `connections` keep-alive connections for `seconds`.
 * Latencies are collected from autocannon's response events (sub-millisecond,
 * 2xx only), not its integer-millisecond histogram.
 * @param {{ port: number, keys: string[], connections: number, seconds?: number, amount?: number, rate?: number, path?: string, headers?: Record<string, string>, onResponse?: (status: number, ms: number) => void }} options
 *   `amount` requests in all instead of `seconds`; `rate` paces them (requests a second over all connections)
 */
export function runLoad({ port, keys, connections, seconds, amount, rate, path = "/v1/things", headers = {}, onResponse }) {
  return new Promise((resolve, reject) => {
    let next = Math.floor(Math.random() * keys.length);
    // A prime stride through the list: every key once per keys.length requests.
    const stride = keys.length % 7919 === 0 ? 1 : 7919;
    const pick =
      keys.length === 1
        ? () => keys[0]
        : () => {
            next = (next + stride) % keys.length;
            return keys[next];
          };
    let latencies = new Float64Array(1 << 16);
    let count = 0;
    const statuses = {};
    const instance = autocannon(
      {
        url: `http://127.0.0.1:${port}`,
        connections: amount === undefined ? connections : Math.min(connections, amount),
        ...(amount === undefined ? { duration: seconds } : { amount }),
        // Paced: at most `rate` requests a second over all connections (a traffic regime, not flat out).
        ...(rate === undefined ? {} : { overallRate: rate }),
        pipelining: 1,
        // autocannon stops (and keeps sending until then) only on its next sample
        // tick: a short tick keeps short runs as short as asked.
        sampleInt: 50,
        timeout: 10,
        requests: [
          {
            method: "GET",
            path,
            setupRequest: (request) => {
              request.headers = { ...headers, authorization: `Bearer ${pick()}` };
              return request;
            },
          },
        ],
      },
      (error, result) => {
        if (error) return reject(error);
        const sorted = latencies.subarray(0, count).sort();
        const ok = result["2xx"];
        const out = {
          seconds: result.duration,
          requests: result.requests.total,
          ok,
          non2xx: result.non2xx,
          errors: result.errors,
          timeouts: result.timeouts,
          statuses,
          rps: ok / result.duration,
          p50: percentile(sorted, 50),
          p99: percentile(sorted, 99),
        };
        // The sorted latencies, for a run combined from slices (bench/lib/paired-runs.mjs); not enumerable,
        // so that they stay out of the runs a caller spreads and of the JSON report.
        Object.defineProperty(out, "latencies", { value: sorted, enumerable: false });
        resolve(out);
      },
    );
    instance.on("response", (_client, statusCode, _bytes, responseTime) => {
      statuses[statusCode] = (statuses[statusCode] ?? 0) + 1;
      onResponse?.(statusCode, responseTime);
      if (statusCode < 200 || statusCode > 299) return;
      if (count === latencies.length) {
        const bigger = new Float64Array(latencies.length * 2);
        bigger.set(latencies);
        latencies = bigger;
      }
      latencies[count++] = responseTime;
    });
  });
}
