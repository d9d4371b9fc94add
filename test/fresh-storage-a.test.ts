import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

// With fresh-storage-b.test.ts: the "workers" project runs its files in one
// workerd (vitest.config.ts), and each file must start as on a runtime of its own.
// Both files check that they start empty and leave data behind; whichever runs
// second shows that test/support/fresh-storage.ts wiped what the first left.

const left = (binding: DurableObjectNamespace, name: string) =>
  runInDurableObject(binding.get(binding.idFromName(name)), (_o: unknown, state: DurableObjectState) => state.storage.get<string>("left-behind-by"));
const leave = (binding: DurableObjectNamespace, name: string) =>
  runInDurableObject(binding.get(binding.idFromName(name)), (_o: unknown, state: DurableObjectState) => state.storage.put("left-behind-by", "a"));

describe("a test file starts on empty storage (a)", () => {
  it("finds nothing that either file leaves in KV or in a guard's or a ledger's storage, then leaves it", async () => {
    expect((await env.KEYS.list()).keys).toEqual([]);
    for (const name of ["left-behind-by-a", "left-behind-by-b"]) {
      expect(await left(env.KEY_GUARD, name)).toBeUndefined();
      expect(await left(env.ORG_LEDGER, name)).toBeUndefined();
    }
    await env.KEYS.put("left-behind-by-a", "1");
    await leave(env.KEY_GUARD, "left-behind-by-a");
    await leave(env.ORG_LEDGER, "left-behind-by-a");
    expect((await env.KEYS.list()).keys.map((k) => k.name)).toEqual(["left-behind-by-a"]);
    expect(await left(env.KEY_GUARD, "left-behind-by-a")).toBe("a");
    expect(await left(env.ORG_LEDGER, "left-behind-by-a")).toBe("a");
  });
});
