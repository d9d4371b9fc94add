import { KeywardError } from "../errors";
import { RequestDeadlines } from "../timeout";

export interface ForwardOptions {
  fetch: typeof fetch;
  timeoutMs: number;
  /** The request's timer, shared with the guard call (forward clears it); without it forward sets its own. */
  deadlines?: RequestDeadlines;
}

/** Header names Keyward owns: anything a client sends under them is dropped. */
export const KEYWARD_HEADER_PREFIX = "x-keyward-";

/**
 * Whether a (lower-case) header name is one of Keyward's as an origin may read it.
 * CGI, WSGI, Rack and PHP turn both `X-Keyward-User` and `X_Keyward_User` into
 * `HTTP_X_KEYWARD_USER`, so a name that is Keyward's with `_` read as `-` is
 * Keyward's too (threats.md 71). Dropped rather than refused (docs/security.md 26):
 * the hyphen spelling has always been dropped, and a client echoing a header it
 * was sent back must not start failing.
 */
export function isKeywardHeaderName(name: string): boolean {
  return name.startsWith(KEYWARD_HEADER_PREFIX) || (name.includes("_") && name.replaceAll("_", "-").startsWith(KEYWARD_HEADER_PREFIX));
}

/**
 * Builds the headers the origin receives: the client's, minus every credential
 * header Keyward consumed and every client-supplied X-Keyward-* (no spoofing,
 * in any letter case: Headers lower-cases names; in any spelling with `_`), plus
 * Keyward's identity.
 */
export function originHeaders(incoming: Headers, consumed: readonly string[], identity: Record<string, string>): Headers {
  // A native copy, then removals (rare beyond the credentials): cheaper than
  // appending the client's headers one by one (docs/performance.md).
  const out = new Headers(incoming);
  for (const name of consumed) out.delete(name);
  for (const name of incoming.keys()) if (isKeywardHeaderName(name)) out.delete(name);
  for (const name in identity) out.set(name, identity[name] as string);
  return out;
}

/** The path and query the origin receives (base path prefix + the request's). */
export function originTarget(base: string, requestUrl: URL): string {
  return `${base}${requestUrl.pathname}${requestUrl.search}`;
}

/**
 * Sends the request on. Origin responses, 5xx included, pass through as they are.
 * The timeout covers the wait for the response head; a body that streams after
 * that is not cut off.
 */
export async function forward(request: Request, target: string, headers: Headers, options: ForwardOptions): Promise<Response> {
  const controller = new AbortController();
  const deadlines = options.deadlines ?? new RequestDeadlines();
  try {
    const hasBody = request.method !== "GET" && request.method !== "HEAD";
    const response = options.fetch(target, {
      method: request.method,
      headers,
      body: hasBody ? request.body : null,
      redirect: "manual",
      signal: controller.signal,
    });
    return await deadlines.race(response, options.timeoutMs, () => {
      controller.abort();
      return new Error("origin timeout");
    });
  } catch {
    if (controller.signal.aborted) {
      throw new KeywardError(
        "ORIGIN_TIMEOUT",
        `The origin did not answer within ${options.timeoutMs} ms. The request may or may not have been processed there.`,
      );
    }
    throw new KeywardError("ORIGIN_UNAVAILABLE", "The origin could not be reached. Try again later; Keyward does not retry on its own.");
  } finally {
    deadlines.clear();
  }
}
