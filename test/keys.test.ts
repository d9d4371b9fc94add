import { describe, expect, it } from "vitest";
import { crc32Hex } from "../src/keys/crc32";
import { generateKey, hashKey, keyParser } from "../src/keys/key-format";

const parse = keyParser("sk");

describe("key format", () => {
  it("computes the standard CRC-32 check value", () => {
    expect(crc32Hex("123456789")).toBe("cbf43926");
  });

  it("generates keys that parse, with a display prefix of type + 8 random characters", () => {
    for (const environment of ["live", "test"] as const) {
      const { key, displayPrefix } = generateKey("sk", environment);
      expect(key).toMatch(new RegExp(`^sk_${environment}_[0-9a-f]{40}$`));
      expect(displayPrefix).toBe(key.slice(0, `sk_${environment}_`.length + 8));
      expect(parse(key)).toEqual({ ok: true, key, environment, displayPrefix });
    }
  });

  it("never generates the same key twice in 1,000 draws", () => {
    const keys = new Set(Array.from({ length: 1000 }, () => generateKey("sk", "live").key));
    expect(keys.size).toBe(1000);
  });

  it("honours a configured type prefix and refuses keys of another", () => {
    const { key } = generateKey("kw", "live");
    expect(keyParser("kw")(key).ok).toBe(true);
    expect(parse(key)).toEqual({ ok: false, reason: "malformed" });
    expect(() => keyParser("Bad-Prefix")).toThrow(/KEY_TYPE_PREFIX/);
  });

  const good = generateKey("sk", "live").key;
  it.each([
    ["39 hex characters", good.slice(0, -1)],
    ["41 hex characters", `${good}0`],
    ["upper-case hex", good.toUpperCase().replace("SK_LIVE_", "sk_live_")],
    ["non-hex", `${good.slice(0, -1)}g`],
    ["wrong type prefix", good.replace("sk_", "pk_")],
    ["unknown environment", good.replace("_live_", "_prod_")],
    ["empty", ""],
  ])("calls %s malformed", (_name, candidate) => {
    expect(parse(candidate)).toEqual({ ok: false, reason: "malformed" });
  });

  it("recognises a mistyped key by its checksum", () => {
    const last = good.at(-1) === "0" ? "1" : "0";
    const mistyped = `${good.slice(0, 20)}${good[20] === "a" ? "b" : "a"}${good.slice(21)}`;
    expect(parse(mistyped)).toEqual({ ok: false, reason: "checksum" });
    expect(parse(good.slice(0, -1) + last)).toEqual({ ok: false, reason: "checksum" });
  });

  it("hashes with SHA-256 to 64 lowercase hex characters", async () => {
    expect(await hashKey("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  });
});
