import { describe, expect, it } from "vitest";
import { Client, KeywardApiError } from "../src/client/client";
import { harness, seedKey } from "./support/harness";

describe("client SDK", () => {
  it("sets the key, reaches the origin, and throws typed errors for Keyward's refusals", async () => {
    const h = harness();
    const { key } = await seedKey({ limit: 1 });
    const client = new Client({
      apiKey: key,
      baseUrl: "https://keyward.test",
      fetch: (input, init) => h.app.request(String(input), init) as Promise<Response>,
    });
    const ok = await client.fetch("/v1/things");
    expect(ok.status).toBe(200);
    const error = await client.fetch("/v1/things").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KeywardApiError);
    expect(error).toMatchObject({ status: 429, code: "RATE_LIMITED" });
    expect((error as KeywardApiError).retryAfterSeconds).toBeGreaterThanOrEqual(1);
  });

  it("refuses to build a client with something that is not a key", () => {
    expect(() => new Client({ apiKey: "hunter2" })).toThrow(/does not look like a Keyward key/);
  });
});
