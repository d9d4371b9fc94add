import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { generateKey, hashKey } from "../src/keys/key-format";
import { derToRaw, rawToDer } from "../src/leaks/ecdsa-der";
import { OrgLedger } from "../src/ledger/org-ledger";
import { githubSigner, keysDocument } from "./support/github-signer";
import { type HarnessOptions, harness } from "./support/harness";
import { devToken } from "./support/tokens";

type Feedback = { token_hash: string; token_type: string; label: string }[];
type AuditEntry = { action: string; actor: string; keyId: string; detail: Record<string, unknown> };

const ORG = () => `org_${crypto.randomUUID().slice(0, 8)}`;

async function setup(options: HarnessOptions & { docMode?: "ok" } = {}) {
  const signer = await githubSigner();
  const doc = keysDocument([signer.entry]);
  const h = harness({ secretScanningFetch: doc.fetch, ...options });
  const org = ORG();
  const admin = { authorization: `Bearer ${await devToken({ org })}`, "content-type": "application/json" };
  const create = async () => {
    const res = await h.send(`/_keyward/v1/orgs/${org}/keys`, { method: "POST", headers: admin, body: JSON.stringify({ label: "ci" }) });
    expect(res.status).toBe(201);
    return (await res.json()) as { id: string; key: string };
  };
  const audit = async () => ((await (await h.send(`/_keyward/v1/orgs/${org}/audit`, { headers: admin })).json()) as { events: AuditEntry[] }).events;
  const view = async (id: string) =>
    (await (await h.send(`/_keyward/v1/orgs/${org}/keys/${id}`, { headers: admin })).json()) as { status: string; leaked: unknown };
  const report = async (body: string, headers: Record<string, string> = {}) =>
    h.send("/_keyward/v1/leaks/github", {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "github-public-key-identifier": signer.identifier,
        "github-public-key-signature": await signer.sign(body),
        ...headers,
      },
      body,
    });
  return { h, org, signer, doc, create, audit, view, report };
}

const githubPayload = (items: { token: string; type?: string; url?: string }[]) =>
  JSON.stringify(
    items.map((i) => ({ token: i.token, type: i.type ?? "keyward_api_key", url: i.url ?? "https://github.com/o/r/blob/abc/app.js", source: "content" })),
  );

describe("ECDSA DER signatures (pure)", () => {
  it("round-trips raw r||s through DER, including high-bit and leading-zero integers", () => {
    for (const raw of [new Uint8Array(64).fill(0x80), new Uint8Array(64).fill(0x01), Uint8Array.from({ length: 64 }, (_, i) => (i < 3 ? 0 : i))]) {
      expect(derToRaw(rawToDer(raw), 32)).toEqual(raw);
    }
  });

  it.each([
    ["empty", []],
    ["not a sequence", [0x31, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01]],
    ["trailing bytes", [0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01, 0x00]],
    ["negative integer", [0x30, 0x06, 0x02, 0x01, 0x81, 0x02, 0x01, 0x01]],
    ["non-minimal integer", [0x30, 0x07, 0x02, 0x02, 0x00, 0x01, 0x02, 0x01, 0x01]],
    ["length beyond the end", [0x30, 0x06, 0x02, 0x09, 0x01, 0x02, 0x01, 0x01]],
  ])("refuses a malformed DER signature (%s)", (_name, bytes) => {
    expect(derToRaw(new Uint8Array(bytes), 32)).toBeNull();
  });
});

describe("GitHub secret scanning partner endpoint (threats.md 57-59)", () => {
  it("revokes the known key, labels the rest false positives with an exact feedback array, audits by secret scanning with the URL", async () => {
    const { h, create, audit, view, report } = await setup();
    const leaked = await create();
    const bystander = await create();
    const unknown = generateKey("sk", "live").key;
    const url = "https://github.com/acme/site/blob/0a1b2c/config.js";
    const body = githubPayload([{ token: leaked.key, url }, { token: unknown }, { token: "garbage !!", type: "other" }]);
    const res = await report(body);
    expect(res.status).toBe(200);
    expect((await res.json()) as Feedback).toEqual([
      { token_hash: await hashKey(leaked.key), token_type: "keyward_api_key", label: "true_positive" },
      { token_hash: await hashKey(unknown), token_type: "keyward_api_key", label: "false_positive" },
      { token_hash: await hashKey("garbage !!"), token_type: "other", label: "false_positive" },
    ]);

    const next = await h.call(leaked.key);
    expect(next.status).toBe(403);
    expect(((await next.json()) as { code: string }).code).toBe("KEY_REVOKED");
    expect((await h.call(bystander.key)).status).toBe(200);
    expect(h.calls.origin).toHaveLength(1);

    const events = (await audit()).filter((e) => e.keyId === leaked.id);
    expect(events.map((e) => [e.action, e.actor])).toEqual([
      ["key.leaked", "secret-scanning:github"],
      ["key.revoked", "secret-scanning:github"],
      ["key.created", "user:user_1"],
    ]);
    expect(events[0]?.detail).toMatchObject({ url });
    expect(await view(leaked.id)).toMatchObject({ status: "revoked", leaked: { url, source: "secret-scanning:github" } });
    expect((await audit()).filter((e) => e.keyId === bystander.id).map((e) => e.action)).toEqual(["key.created"]);
  });

  it.each<[string, (s: Awaited<ReturnType<typeof setup>>, body: string) => Promise<Response>]>([
    [
      "no identifier header",
      async ({ h, signer }, body) =>
        h.send("/_keyward/v1/leaks/github", { method: "POST", headers: { "github-public-key-signature": await signer.sign(body) }, body }),
    ],
    [
      "no signature header",
      async ({ h, signer }, body) =>
        h.send("/_keyward/v1/leaks/github", { method: "POST", headers: { "github-public-key-identifier": signer.identifier }, body }),
    ],
    ["a signature by another key", async ({ report }, body) => report(body, { "github-public-key-signature": await (await githubSigner()).sign(body) })],
    ["a signature that is not base64 DER", async ({ report }, body) => report(body, { "github-public-key-signature": "bm90IGEgc2lnbmF0dXJl" })],
    ["an unknown key identifier", async ({ report }, body) => report(body, { "github-public-key-identifier": "kid-nobody-knows" })],
    [
      "a body changed after signing",
      async ({ h, signer }, body) =>
        h.send("/_keyward/v1/leaks/github", {
          method: "POST",
          headers: { "github-public-key-identifier": signer.identifier, "github-public-key-signature": await signer.sign(body) },
          body: body.replace("content", "commit!"),
        }),
    ],
  ])("answers %s with 4xx and changes nothing", async (_name, send) => {
    const s = await setup();
    const { key, id } = await s.create();
    const res = await send(s, githubPayload([{ token: key }]));
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect((await s.h.call(key)).status).toBe(200);
    expect((await s.audit()).map((e) => e.action)).toEqual(["key.created"]);
    expect(await s.view(id)).toMatchObject({ status: "active", leaked: null });
  });

  it.each(["not json", '{"token":"x"}', '[{"type":"t"}]', "[1,2]"])("answers a signed but malformed body (%s) with 400 and changes nothing", async (body) => {
    const s = await setup();
    const { key } = await s.create();
    const res = await s.report(body);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { field: string }).field).toBe("body");
    expect((await s.h.call(key)).status).toBe(200);
  });

  it.each(["down", "hang", "malformed", "500"] as const)("answers 503 and revokes nothing when the public keys document is %s", async (mode) => {
    const s = await setup({ vars: { GITHUB_SECRET_SCANNING_KEYS_TIMEOUT_MS: "100" } });
    const { key } = await s.create();
    s.doc.state.mode = mode;
    const res = await s.report(githubPayload([{ token: key }]));
    expect(res.status).toBe(503);
    expect(((await res.json()) as { code: string }).code).toBe("AUTH_BACKEND_UNAVAILABLE");
    expect((await s.h.call(key)).status).toBe(200);
    expect((await s.audit()).map((e) => e.action)).toEqual(["key.created"]);
  });

  it("fetches the document once for many concurrent reports, and a flood of unknown identifiers costs a bounded number of fetches", async () => {
    let now = Date.now();
    const s = await setup({ now: () => now });
    const body = githubPayload([{ token: generateKey("sk", "live").key }]);
    const signature = await s.signer.sign(body);
    const send = (identifier: string) =>
      s.h.send("/_keyward/v1/leaks/github", {
        method: "POST",
        headers: { "github-public-key-identifier": identifier, "github-public-key-signature": signature },
        body,
      });
    const first = await Promise.all(Array.from({ length: 20 }, () => send(s.signer.identifier)));
    expect(first.map((r) => r.status)).toEqual(Array(20).fill(200));
    expect(s.doc.state.fetches).toBe(1);
    const flood = await Promise.all(Array.from({ length: 50 }, (_, i) => send(`kid-made-up-${i}`)));
    expect(flood.every((r) => r.status === 400)).toBe(true);
    expect(s.doc.state.fetches).toBe(1); // fetched moments ago: unknown identifiers do not refetch
    now += 61_000;
    const later = await Promise.all(Array.from({ length: 50 }, (_, i) => send(`kid-other-${i}`)));
    expect(later.every((r) => r.status === 400)).toBe(true);
    expect(s.doc.state.fetches).toBe(2); // one refetch per cool-down, however many identifiers
  });

  it("refetches once for an identifier it does not know yet (GitHub rotated its key)", async () => {
    let now = Date.now();
    const s = await setup({ now: () => now });
    expect((await s.report(githubPayload([{ token: generateKey("sk", "live").key }]))).status).toBe(200);
    const rotated = await githubSigner();
    s.doc.state.entries = [s.signer.entry, rotated.entry];
    now += 61_000;
    const { key } = await s.create();
    const body = githubPayload([{ token: key }]);
    const res = await s.h.send("/_keyward/v1/leaks/github", {
      method: "POST",
      headers: { "github-public-key-identifier": rotated.identifier, "github-public-key-signature": await rotated.sign(body) },
      body,
    });
    expect(res.status).toBe(200);
    expect(s.doc.state.fetches).toBe(2);
    expect((await s.h.call(key)).status).toBe(403);
  });

  it("with LEAK_ACTION=notify marks, audits and labels the key but does not revoke it", async () => {
    const s = await setup({ vars: { LEAK_ACTION: "notify" } });
    const { key, id } = await s.create();
    const res = await s.report(githubPayload([{ token: key }]));
    expect(((await res.json()) as Feedback)[0]?.label).toBe("true_positive");
    expect((await s.h.call(key)).status).toBe(200);
    expect((await s.audit()).map((e) => [e.action, e.actor])).toEqual([
      ["key.leaked", "secret-scanning:github"],
      ["key.created", "user:user_1"],
    ]);
    expect(await s.view(id)).toMatchObject({ status: "active", leaked: { source: "secret-scanning:github" } });
  });

  it("audits a second report of the same key without revoking or announcing it again", async () => {
    const s = await setup();
    const { key } = await s.create();
    await s.report(githubPayload([{ token: key, url: "https://github.com/a/b/1" }]));
    await s.report(githubPayload([{ token: key, url: "https://github.com/a/b/2" }]));
    expect((await s.audit()).map((e) => e.action)).toEqual(["key.leak_reported_again", "key.leaked", "key.revoked", "key.created"]);
  });
});

describe("POST /leaks: anyone holding a key may report it (threats.md 60)", () => {
  const send = (h: ReturnType<typeof harness>, body: unknown, address = "198.51.100.7") =>
    h.send("/_keyward/v1/leaks", { method: "POST", headers: { "content-type": "application/json", "cf-connecting-ip": address }, body: JSON.stringify(body) });

  it("answers a known key, an unknown key and garbage identically, without waiting for any lookup, and revokes only the known key", async () => {
    // KV reads wait behind a gate the test opens: the answers must come while every lookup is still blocked.
    let open: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    let gated = false;
    const kv = {
      get: async (...args: unknown[]) => {
        if (gated) await gate;
        return (env.KEYS.get as (...a: unknown[]) => unknown)(...args);
      },
      put: (...args: unknown[]) => (env.KEYS.put as (...a: unknown[]) => unknown)(...args),
    } as unknown as KVNamespace;
    const s = await setup({ kv, vars: { CACHE_TTL_SECONDS: "0" } });
    const { key, id } = await s.create();
    gated = true;
    s.h.calls.guard.length = 0;
    const answers = [];
    for (const candidate of [key, generateKey("sk", "live").key, "not-a-key"]) {
      const res = await send(s.h, { key: candidate, url: "https://pastebin.example/abc" });
      const headers = Object.fromEntries([...res.headers].filter(([name]) => name !== "x-keyward-request-id"));
      answers.push({ status: res.status, body: await res.text(), headers });
    }
    expect(answers[0]).toEqual({ status: 202, body: '{"status":"received"}', headers: expect.objectContaining({ "cache-control": "no-store" }) });
    expect(answers[1]).toEqual(answers[0]);
    expect(answers[2]).toEqual(answers[0]);
    expect(answers[0]?.body).not.toContain(s.org);
    // Only the per-address limiter was asked; nothing was revoked yet.
    expect(s.h.calls.guard).toEqual(["check", "check", "check"]);

    open();
    await s.h.settle();
    expect((await s.h.call(key)).status).toBe(403);
    const events = await s.audit();
    expect(events.map((e) => [e.action, e.actor])).toEqual([
      ["key.leaked", "report"],
      ["key.revoked", "report"],
      ["key.created", "user:user_1"],
    ]);
    expect(await s.view(id)).toMatchObject({ leaked: { url: "https://pastebin.example/abc", source: "report" } });
  });

  it("rate-limits reports per client address (CF-Connecting-IP), not per key", async () => {
    const h = harness({ vars: { LEAK_REPORTS_PER_MINUTE: "3" } });
    const address = `198.51.100.${Math.floor(Math.random() * 250)}`;
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push((await send(h, { key: generateKey("sk", "live").key }, address)).status);
    expect(statuses).toEqual([202, 202, 202, 429, 429]);
    // X-Forwarded-For does not buy a new allowance; another real address has its own.
    const spoofed = await h.send("/_keyward/v1/leaks", {
      method: "POST",
      headers: { "cf-connecting-ip": address, "x-forwarded-for": "203.0.113.9" },
      body: JSON.stringify({ key: "x" }),
    });
    expect(spoofed.status).toBe(429);
    expect((await send(h, { key: "x" }, "2001:db8::77")).status).toBe(202);
  });

  it("a changed LEAK_REPORTS_PER_MINUTE applies to an address that already has a window", async () => {
    const address = `192.0.2.${Math.floor(Math.random() * 250)}`;
    const first = harness({ vars: { LEAK_REPORTS_PER_MINUTE: "10" } });
    for (let i = 0; i < 2; i++) expect((await send(first, { key: "x" }, address)).status).toBe(202);
    const lowered = harness({ vars: { LEAK_REPORTS_PER_MINUTE: "1" } });
    const statuses = [];
    for (let i = 0; i < 2; i++) statuses.push((await send(lowered, { key: "x" }, address)).status);
    expect(statuses).toEqual([202, 429]);
  });

  it("answers a body that is not { key, url? } with 400 naming the field", async () => {
    const h = harness();
    const res = await send(h, { url: "https://x.example" }, "2001:db8::78");
    expect(res.status).toBe(400);
    expect(((await res.json()) as { field: string }).field).toBe("key");
  });
});

describe("what the fourth attack found in leak reports (threats.md 75-76)", () => {
  const send = (h: ReturnType<typeof harness>, body: unknown, address: string) =>
    h.send("/_keyward/v1/leaks", { method: "POST", headers: { "content-type": "application/json", "cf-connecting-ip": address }, body: JSON.stringify(body) });
  const hex = () => Math.floor(Math.random() * 0xffff).toString(16);

  it.each(["javascript:alert(document.cookie)", "data:text/html,<script>x</script>", "ftp://files.example/k", "vbscript:x"])(
    "answers POST /leaks with url %s with 400 naming url, and reports nothing",
    async (url) => {
      const s = await setup();
      const { key } = await s.create();
      const res = await send(s.h, { key, url }, `203.0.113.${Math.floor(Math.random() * 250)}`);
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ code: "INVALID_REQUEST", field: "url", message: "url: must be an http or https URL" });
      await s.h.settle();
      expect((await s.h.call(key)).status).toBe(200);
      expect((await s.audit()).map((e) => e.action)).toEqual(["key.created"]);
    },
  );

  it("keeps a GitHub report whose url is not http or https, without its url", async () => {
    const s = await setup();
    const { key, id } = await s.create();
    expect((await s.report(githubPayload([{ token: key, url: "javascript:alert(1)" }]))).status).toBe(200);
    expect(await s.view(id)).toMatchObject({ status: "revoked", leaked: { url: null, source: "secret-scanning:github" } });
    const leaked = (await s.audit()).find((e) => e.action === "key.leaked");
    expect(leaked?.detail.url).toBeNull();
  });

  it("limits POST /leaks per IPv6 /64, not per full address: new addresses in the same /64 buy nothing", async () => {
    const h = harness({ vars: { LEAK_REPORTS_PER_MINUTE: "3" } });
    const prefix = `2001:db8:${hex()}:${hex()}`;
    const statuses = [];
    // Each report from another address of the same /64, as one subscriber can.
    for (let i = 1; i <= 5; i++) statuses.push((await send(h, { key: "x" }, `${prefix}:${hex()}:${hex()}::${i}`)).status);
    expect(statuses).toEqual([202, 202, 202, 429, 429]);
    expect((await send(h, { key: "x" }, `${prefix}:ffff:ffff:ffff:ffff`)).status).toBe(429);
    // The next /64 is another client.
    expect((await send(h, { key: "x" }, `2001:db8:${hex()}:${hex()}::1`)).status).toBe(202);
  });
});

describe("87. concurrent reports of one key: exactly one is the first", () => {
  /** The org's audit actions with their counts, and the webhook deliveries queued, by type. */
  async function outcome(s: Awaited<ReturnType<typeof setup>>) {
    const admin = { authorization: `Bearer ${await devToken({ org: s.org })}` };
    const events = (await (await s.h.send(`/_keyward/v1/orgs/${s.org}/audit?limit=1000`, { headers: admin })).json()) as {
      events: { action: string; count: number }[];
    };
    const counts: Record<string, number> = {};
    for (const e of events.events) counts[e.action] = (counts[e.action] ?? 0) + e.count;
    const deliveries = (await (await s.h.send(`/_keyward/v1/orgs/${s.org}/webhook/deliveries`, { headers: admin })).json()) as {
      deliveries: { type: string }[];
    };
    const queued: Record<string, number> = {};
    for (const d of deliveries.deliveries) queued[d.type] = (queued[d.type] ?? 0) + 1;
    return { counts, queued };
  }
  async function withWebhook(options: HarnessOptions = {}) {
    const s = await setup(options);
    const headers = { authorization: `Bearer ${await devToken({ org: s.org })}`, "content-type": "application/json" };
    const hook = await s.h.send(`/_keyward/v1/orgs/${s.org}/webhook`, {
      method: "PUT",
      headers,
      body: JSON.stringify({ url: "http://127.0.0.1:9/hook", events: ["key.leaked", "key.revoked"] }),
    });
    expect(hook.status).toBe(200);
    // A receiver that answers, so the ledger's alarm delivers without reaching the network.
    await runInDurableObject(env.ORG_LEDGER.get(env.ORG_LEDGER.idFromName(s.org)), (ledger: OrgLedger) => {
      OrgLedger.hooks(ledger).setOutbound({ now: () => Date.now(), fetch: async () => new Response("ok"), timeoutMs: 1_000 });
    });
    return s;
  }

  it("counts one GitHub report holding 16 copies of a key once: one key.leaked, one key.revoked, one delivery each, 16 true positives", async () => {
    const s = await withWebhook();
    const { key } = await s.create();
    const res = await s.report(githubPayload(Array.from({ length: 16 }, (_, i) => ({ token: key, url: `https://github.com/o/r/blob/${i}/a.js` }))));
    expect(res.status).toBe(200);
    expect(((await res.json()) as Feedback).map((f) => f.label)).toEqual(Array(16).fill("true_positive"));
    expect(await outcome(s)).toEqual({
      counts: { "key.created": 1, "webhook.set": 1, "key.revoked": 1, "key.leaked": 1 },
      queued: { "key.revoked": 1, "key.leaked": 1 },
    });
    expect((await s.h.call(key)).status).toBe(403);
  });

  it("counts ten concurrent public reports of one key as one first report and nine repeats (one entry with a count)", async () => {
    const s = await withWebhook({ vars: { LEAK_REPORTS_PER_MINUTE: "100" } });
    const { key, id } = await s.create();
    const statuses = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        s.h
          .send("/_keyward/v1/leaks", {
            method: "POST",
            headers: { "content-type": "application/json", "cf-connecting-ip": `198.51.100.${i + 1}` },
            body: JSON.stringify({ key, url: `https://paste.example/${i}` }),
          })
          .then((r) => r.status),
      ),
    );
    expect(statuses).toEqual(Array(10).fill(202));
    await s.h.settle();
    expect(await outcome(s)).toEqual({
      counts: { "key.created": 1, "webhook.set": 1, "key.revoked": 1, "key.leaked": 1, "key.leak_reported_again": 9 },
      queued: { "key.revoked": 1, "key.leaked": 1 },
    });
    expect(await s.view(id)).toMatchObject({ status: "revoked", leaked: { source: "report" } });
  });

  it("counts two concurrent GitHub reports of one key as one first report and one repeat", async () => {
    const s = await withWebhook();
    const { key } = await s.create();
    const [a, b] = await Promise.all([
      s.report(githubPayload([{ token: key, url: "https://github.com/o/r/blob/1/a.js" }])),
      s.report(githubPayload([{ token: key, url: "https://github.com/o/r/blob/2/a.js" }])),
    ]);
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(await outcome(s)).toEqual({
      counts: { "key.created": 1, "webhook.set": 1, "key.revoked": 1, "key.leaked": 1, "key.leak_reported_again": 1 },
      queued: { "key.revoked": 1, "key.leaked": 1 },
    });
  });

  it("with LEAK_ACTION=notify, marks and announces once and revokes nothing", async () => {
    const s = await withWebhook({ vars: { LEAK_ACTION: "notify", LEAK_REPORTS_PER_MINUTE: "100" } });
    const { key } = await s.create();
    await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        s.h.send("/_keyward/v1/leaks", {
          method: "POST",
          headers: { "content-type": "application/json", "cf-connecting-ip": `192.0.2.${i + 1}` },
          body: JSON.stringify({ key }),
        }),
      ),
    );
    await s.h.settle();
    expect(await outcome(s)).toEqual({
      counts: { "key.created": 1, "webhook.set": 1, "key.leaked": 1, "key.leak_reported_again": 4 },
      queued: { "key.leaked": 1 },
    });
    expect((await s.h.call(key)).status).toBe(200);
  });
});
