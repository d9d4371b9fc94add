import { rawToDer } from "../../src/leaks/ecdsa-der";

const b64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));

/** A stand-in for GitHub's secret scanning signer: a P-256 key pair and its public keys document. */
export async function githubSigner(identifier = `kid-${crypto.randomUUID()}`) {
  const pair = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"])) as CryptoKeyPair;
  const spki = new Uint8Array((await crypto.subtle.exportKey("spki", pair.publicKey)) as ArrayBuffer);
  const pem = `-----BEGIN PUBLIC KEY-----\n${b64(spki).replace(/(.{64})/g, "$1\n")}\n-----END PUBLIC KEY-----\n`;
  return {
    identifier,
    entry: { key_identifier: identifier, key: pem, is_current: true },
    /** base64 DER ECDSA P-256 SHA-256 signature over the exact body, as GitHub sends it. */
    async sign(body: string): Promise<string> {
      const raw = new Uint8Array(await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, pair.privateKey, new TextEncoder().encode(body)));
      return b64(rawToDer(raw));
    },
  };
}

/** A keys document server for the harness's secretScanningFetch, counting fetches. */
export function keysDocument(entries: unknown[]) {
  const state = {
    entries,
    fetches: 0,
    mode: "ok" as "ok" | "down" | "hang" | "malformed" | "500",
  };
  const fetcher: typeof fetch = async () => {
    state.fetches++;
    switch (state.mode) {
      case "down":
        throw new TypeError("connection refused");
      case "hang":
        return new Promise<Response>(() => {});
      case "malformed":
        return new Response("<html>not json</html>", { status: 200 });
      case "500":
        return new Response("{}", { status: 500 });
      default:
        return Response.json({ public_keys: state.entries });
    }
  };
  return { state, fetch: fetcher };
}
