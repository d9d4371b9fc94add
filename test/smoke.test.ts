import { describe, expect, it } from "vitest";
import { harness, seedKey } from "./support/harness";

describe("smoke", () => {
  it("proxies a request with a seeded key", async () => {
    const h = harness();
    const { key } = await seedKey();
    const res = await h.call(key);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { headers: Record<string, string> };
    expect(body.headers["x-keyward-org"]).toBe("org_acme");
    expect(body.headers.authorization).toBeUndefined();
  });
});
