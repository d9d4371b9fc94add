import { env } from "cloudflare:workers";
import fc from "fast-check";
import { afterEach, describe, expect, it, vi } from "vitest";
import { base64url, fallback, hex } from "../src/encoding/bytes";
import { queryHash } from "../src/identity/context-token";
import { generateKey } from "../src/keys/key-format";
import { originHeaders } from "../src/proxy/forward";
import { RequestDeadlines } from "../src/timeout";
import { harness, seedKey } from "./support/harness";

describe("byte encodings on the request path", () => {
  it("give the same base64url and hex as the portable fallback, for any bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        expect(base64url(bytes)).toBe(fallback.base64url(bytes));
        expect(hex(bytes)).toBe(fallback.hex(bytes));
      }),
    );
  });

  it("hash the empty query to the constant origins compute", async () => {
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new Uint8Array()));
    expect(await queryHash("")).toBe(fallback.base64url(digest));
    expect(await queryHash("")).toBe("47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU");
    expect(await queryHash("a=1")).not.toBe(await queryHash(""));
  });
});

describe("origin headers", () => {
  it("keep every client header and value, drop the consumed credentials and any X-Keyward-*, then add the identity", () => {
    const incoming = new Headers([
      ["Authorization", "Bearer sk_live_x"],
      ["X-API-Key", "sk_live_x"],
      ["Accept", "application/json"],
      ["X-Custom", "a"],
      ["X-Custom", "b"],
      ["X-Keyward-Org", "org_spoofed"],
      ["x-KEYWARD-anything", "spoofed"],
    ]);
    const out = originHeaders(incoming, ["authorization", "x-api-key"], { "x-keyward-org": "org_real", "x-keyward-key-id": "key_1" });
    expect([...out]).toEqual([
      ["accept", "application/json"],
      ["x-custom", "a, b"],
      ["x-keyward-key-id", "key_1"],
      ["x-keyward-org", "org_real"],
    ]);
    // The client's request is left as it was.
    expect(incoming.get("authorization")).toBe("Bearer sk_live_x");
  });
});

describe("KV reads on a cache miss", () => {
  it("share one read among concurrent requests for the same key in an isolate", async () => {
    const h = harness();
    const { key } = await seedKey({ limit: 1000 });
    const statuses = await Promise.all(Array.from({ length: 10 }, () => h.call(key).then((r) => r.status)));
    expect(statuses).toEqual(Array(10).fill(200));
    expect(h.calls.kv.get).toBe(1);
    expect(h.calls.guard).toHaveLength(10);
    expect(h.calls.origin).toHaveLength(10);
  });

  it("read again once that read is over, for a key that was unknown", async () => {
    const h = harness();
    const unknown = generateKey("sk", "live").key;
    const statuses = await Promise.all(Array.from({ length: 5 }, () => h.call(unknown).then((r) => r.status)));
    expect(statuses).toEqual(Array(5).fill(401));
    expect(h.calls.kv.get).toBe(1);
    expect((await h.call(unknown)).status).toBe(401);
    expect(h.calls.kv.get).toBe(2);
    expect(h.calls.guard).toHaveLength(0);
    expect(h.calls.origin).toHaveLength(0);
  });

  it("fail closed for every waiting request when the shared read fails", async () => {
    let reads = 0;
    const failing = {
      ...env.KEYS,
      get: async () => {
        reads++;
        throw new Error("KV down");
      },
    } as unknown as KVNamespace;
    const h = harness({ kv: failing });
    const { key } = await seedKey();
    const statuses = await Promise.all(Array.from({ length: 4 }, () => h.call(key).then((r) => r.status)));
    expect(statuses).toEqual([503, 503, 503, 503]);
    expect(reads).toBe(1);
    expect(h.calls.guard).toHaveLength(0);
    expect(h.calls.origin).toHaveLength(0);
  });
});

describe("one timer per request for its deadlines", () => {
  afterEach(() => {
    // The spies wrap the fake timers: undone first, or restoring them later (at the
    // end of the file) would put the fake setTimeout back for every file after this one.
    vi.restoreAllMocks();
    vi.useRealTimers();
  });

  it("expires a wait that outlasts its deadline, and lets a quicker one through", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    const deadlines = new RequestDeadlines();
    await expect(deadlines.race(Promise.resolve("guard"), 3000, () => new Error("late"))).resolves.toBe("guard");
    const slow = deadlines.race(new Promise(() => {}), 3000, () => new Error("guard too slow"));
    const caught = expect(slow).rejects.toThrow("guard too slow");
    await vi.advanceTimersByTimeAsync(2999);
    await vi.advanceTimersByTimeAsync(1);
    await caught;
    deadlines.clear();
  });

  it("sets one timer for the guard's wait and the origin's, and arms it again only when the origin outlasts the first deadline", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    const setTimeoutSpy = vi.spyOn(globalThis, "setTimeout");
    const deadlines = new RequestDeadlines();
    await deadlines.race(Promise.resolve("admitted"), 3000, () => new Error("guard too slow"));
    let settled = false;
    const origin = deadlines
      .race(new Promise(() => {}), 10_000, () => new Error("origin too slow"))
      .catch((error: Error) => {
        settled = true;
        return error.message;
      });
    expect(setTimeoutSpy).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(3000);
    expect(settled).toBe(false);
    expect(setTimeoutSpy).toHaveBeenCalledTimes(2);
    await vi.advanceTimersByTimeAsync(6999);
    expect(settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(await origin).toBe("origin too slow");
    deadlines.clear();
  });

  it("sets no further timer once cleared", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    const clearSpy = vi.spyOn(globalThis, "clearTimeout");
    const deadlines = new RequestDeadlines();
    await deadlines.race(Promise.resolve(1), 3000, () => new Error("late"));
    deadlines.clear();
    expect(clearSpy).toHaveBeenCalledTimes(1);
    expect(vi.getTimerCount()).toBe(0);
  });
});
