import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { loadConfig } from "../src/config";
import { type BoundTimer, boundWebSocket, WEBSOCKET_BOUND_CODE, WEBSOCKET_BOUND_REASON } from "../src/proxy/websocket-bound";
import { adminClient, adminHeaders } from "./support/admin-client";

/** The key's credits left, as the admin API shows them. */
async function creditsLeft(client: ReturnType<typeof adminClient>, org: string, id: string): Promise<number> {
  const res = await client.api(`/orgs/${org}/keys/${id}`, { headers: await adminHeaders(org) });
  return ((await res.json()) as { credits: { remaining: number } }).credits.remaining;
}

describe("streams and WebSockets pass through, counted once when they open (README)", () => {
  it("streams a response as the origin writes it, and spends one credit for the whole stream", async () => {
    let finish = () => {};
    const more = new Promise<void>((resolve) => {
      finish = resolve;
    });
    const client = adminClient({
      origin: async () =>
        new Response(
          new ReadableStream({
            async start(controller) {
              controller.enqueue(new TextEncoder().encode("first\n"));
              // The rest comes only after the client has read the first chunk.
              await more;
              for (let i = 0; i < 50; i++) controller.enqueue(new TextEncoder().encode(`event ${i}\n`));
              controller.close();
            },
          }),
          { headers: { "content-type": "text/event-stream" } },
        ),
    });
    const org = `org_${crypto.randomUUID().slice(0, 8)}`;
    const created = await client.create(org, { credits: { remaining: 10 } });
    const res = await client.h.call(created.key, "/v1/events");
    expect(res.status).toBe(200);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    // The head and the first chunk arrive while the origin is still writing: not buffered.
    expect(decoder.decode((await reader.read()).value)).toBe("first\n");
    finish();
    let rest = "";
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) rest += decoder.decode(chunk.value, { stream: true });
    expect(rest.split("\n").filter(Boolean)).toHaveLength(50);
    expect(client.h.calls.origin).toHaveLength(1);
    expect(await creditsLeft(client, org, created.id)).toBe(9);
  });

  it("passes a WebSocket upgrade through (101 and the socket), spending one credit however many messages follow", async () => {
    const client = adminClient({
      origin: async (request) => {
        expect(request.headers.get("upgrade")).toBe("websocket");
        const pair = new WebSocketPair();
        const server = pair[1];
        server.accept();
        server.addEventListener("message", (event) => server.send(`echo ${String(event.data)}`));
        return new Response(null, { status: 101, webSocket: pair[0] });
      },
    });
    const org = `org_${crypto.randomUUID().slice(0, 8)}`;
    const created = await client.create(org, { credits: { remaining: 10 } });
    const res = await client.h.call(created.key, "/v1/socket", { headers: { upgrade: "websocket" } });
    expect(res.status).toBe(101);
    const socket = res.webSocket as WebSocket;
    expect(socket).not.toBeNull();
    socket.accept();
    const replies: string[] = [];
    const all = new Promise<void>((resolve) => {
      socket.addEventListener("message", (event) => {
        replies.push(String(event.data));
        if (replies.length === 20) resolve();
      });
    });
    for (let i = 0; i < 20; i++) socket.send(`m${i}`);
    await all;
    expect(replies[19]).toBe("echo m19");
    socket.close();
    expect(client.h.calls.origin).toHaveLength(1);
    expect(await creditsLeft(client, org, created.id)).toBe(9);
  });
});

/** An origin that echoes, and closes with code 4100 when told "bye"; what it saw is in `closes`. */
function echoOrigin(closes: { code: number; reason: string }[]) {
  return async () => {
    const pair = new WebSocketPair();
    const server = pair[1];
    server.accept();
    server.addEventListener("message", (event) => {
      if (event.data === "bye") server.close(4100, "origin done");
      else server.send(`echo ${String(event.data)}`);
    });
    server.addEventListener("close", (event) => {
      closes.push({ code: event.code, reason: event.reason });
    });
    return new Response(null, { status: 101, webSocket: pair[0] });
  };
}

/** The next close event on a socket. */
const closeOf = (socket: WebSocket) =>
  new Promise<{ code: number; reason: string }>((resolve) => socket.addEventListener("close", (event) => resolve({ code: event.code, reason: event.reason })));
const messageOf = (socket: WebSocket) =>
  new Promise<string>((resolve) => socket.addEventListener("message", (event) => resolve(String(event.data)), { once: true }));

describe("a WebSocket's life is bounded (security.md 27, threats.md 82)", () => {
  it("relays the origin's close code and reason to the client", async () => {
    const client = adminClient({ origin: echoOrigin([]) });
    const org = `org_${crypto.randomUUID().slice(0, 8)}`;
    const created = await client.create(org);
    const res = await client.h.call(created.key, "/v1/socket", { headers: { upgrade: "websocket" } });
    const socket = res.webSocket as WebSocket;
    socket.accept();
    const closed = closeOf(socket);
    socket.send("bye");
    expect(await closed).toEqual({ code: 4100, reason: "origin done" });
  });

  it("relays the client's close code and reason to the origin", async () => {
    const seen: { code: number; reason: string }[] = [];
    const client = adminClient({ origin: echoOrigin(seen) });
    const org = `org_${crypto.randomUUID().slice(0, 8)}`;
    const created = await client.create(org);
    const res = await client.h.call(created.key, "/v1/socket", { headers: { upgrade: "websocket" } });
    const socket = res.webSocket as WebSocket;
    socket.accept();
    const reply = messageOf(socket);
    socket.send("hi");
    expect(await reply).toBe("echo hi");
    const closed = closeOf(socket);
    socket.close(4200, "client done");
    await closed;
    await vi.waitFor(() => expect(seen).toEqual([{ code: 4200, reason: "client done" }]));
  });

  it("closes both ends with 1008 when KEYWARD_WEBSOCKET_MAX_SECONDS has passed, not before", async () => {
    // The bound's timer, fired by the test instead of waiting a minute.
    const timers: { ms: number; fire: () => void }[] = [];
    const websocketTimer: BoundTimer = (fire, ms) => {
      timers.push({ ms, fire });
      return () => {};
    };
    const seen: { code: number; reason: string }[] = [];
    const client = adminClient({ vars: { KEYWARD_WEBSOCKET_MAX_SECONDS: "60" }, origin: echoOrigin(seen), websocketTimer });
    const org = `org_${crypto.randomUUID().slice(0, 8)}`;
    const created = await client.create(org);
    const res = await client.h.call(created.key, "/v1/socket", { headers: { upgrade: "websocket" } });
    expect(res.status).toBe(101);
    expect(timers.map((t) => t.ms)).toEqual([60_000]);
    const socket = res.webSocket as WebSocket;
    socket.accept();
    const closed = closeOf(socket);
    // Before the bound, messages flow.
    const reply = messageOf(socket);
    socket.send("still here");
    expect(await reply).toBe("echo still here");
    (timers[0] as { fire: () => void }).fire();
    expect(await closed).toEqual({ code: 1008, reason: WEBSOCKET_BOUND_REASON });
    expect(WEBSOCKET_BOUND_CODE).toBe(1008);
    expect(WEBSOCKET_BOUND_REASON).toMatch(/reconnect with a valid API key/);
    await vi.waitFor(() => expect(seen).toEqual([{ code: 1008, reason: WEBSOCKET_BOUND_REASON }]));
  });

  it("defaults the bound to an hour", () => {
    expect(loadConfig({ ...env, KEYWARD_WEBSOCKET_MAX_SECONDS: undefined }).websocketMaxMs).toBe(3_600_000);
  });

  it("stops the timer when a socket closes before the bound, and passes other responses as they are", async () => {
    let cancelled = 0;
    const timer: BoundTimer = () => () => {
      cancelled++;
    };
    const plain = new Response("ok");
    expect(boundWebSocket(plain, 1_000, timer)).toBe(plain);
    const response = boundWebSocket(await echoOrigin([])(), 1_000, timer);
    const socket = response.webSocket as WebSocket;
    socket.accept();
    const closed = closeOf(socket);
    socket.send("bye");
    expect((await closed).code).toBe(4100);
    expect(cancelled).toBe(1);
  });
});
