import { describe, expect, it } from "vitest";
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
