/**
 * A WebSocket's life through Keyward is bounded (docs/security.md 27): Keyward
 * judges the key once, at the upgrade, so a socket that stayed open forever
 * would outlive the key's revocation. Keyward stands between the two ends,
 * relays every message and close both ways, and closes both ends when the
 * bound is reached. The client reconnects, and the new upgrade checks the key.
 */

/** The close code Keyward sends when a socket reaches its bound: policy violation (RFC 6455 7.4.1). */
export const WEBSOCKET_BOUND_CODE = 1008;
/** The close reason with it; at most 123 bytes, as a close frame allows. */
export const WEBSOCKET_BOUND_REASON = "Keyward: connection time limit reached; reconnect with a valid API key";

/** Starts the timer that ends the socket; returns its cancel. Tests pass one they fire themselves. */
export type BoundTimer = (fire: () => void, ms: number) => () => void;

const realTimer: BoundTimer = (fire, ms) => {
  const handle = setTimeout(fire, ms);
  return () => clearTimeout(handle);
};

/** Closes a socket, tolerating one already closed and codes that may not be sent (1005, 1006, 1015). */
function closeQuietly(socket: WebSocket, code?: number, reason?: string): void {
  try {
    socket.close(code, reason);
  } catch {
    try {
      socket.close(1000);
    } catch {
      // Already closed: nothing to do.
    }
  }
}

function sendQuietly(socket: WebSocket, data: string | ArrayBuffer): void {
  try {
    socket.send(data);
  } catch {
    // The other end is closing; its close is relayed on its own.
  }
}

/**
 * Interposes on the origin's accepted upgrade (a 101 with a webSocket): returns
 * the response for the client, whose socket is relayed to the origin's until
 * either end closes or `maxMs` passes, whichever is first.
 */
export function boundWebSocket(response: Response, maxMs: number, timer: BoundTimer = realTimer): Response {
  const origin = response.webSocket;
  if (origin === null) return response;
  const [client, toClient] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
  origin.accept();
  toClient.accept();
  let done = false;
  const cancel = timer(() => end(WEBSOCKET_BOUND_CODE, WEBSOCKET_BOUND_REASON), maxMs);
  function end(code?: number, reason?: string): void {
    if (done) return;
    done = true;
    cancel();
    closeQuietly(origin as WebSocket, code, reason);
    closeQuietly(toClient, code, reason);
  }
  origin.addEventListener("message", (event) => sendQuietly(toClient, event.data));
  toClient.addEventListener("message", (event) => sendQuietly(origin, event.data));
  origin.addEventListener("close", (event) => end(event.code, event.reason));
  toClient.addEventListener("close", (event) => end(event.code, event.reason));
  origin.addEventListener("error", () => end(1011, "origin socket error"));
  toClient.addEventListener("error", () => end(1011, "client socket error"));
  return new Response(null, { status: 101, statusText: response.statusText, headers: response.headers, webSocket: client });
}
