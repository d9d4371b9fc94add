import { KeywardError } from "../errors";

export interface ForwardOptions {
  fetch: typeof fetch;
  timeoutMs: number;
}

/** Header names Keyward owns: anything a client sends under them is dropped. */
export const KEYWARD_HEADER_PREFIX = "x-keyward-";

/**
 * Builds the headers the origin receives: the client's, minus every credential
 * header Keyward consumed and every client-supplied X-Keyward-* (no spoofing,
 * in any letter case: Headers lower-cases names), plus Keyward's identity.
 */
export function originHeaders(incoming: Headers, consumed: readonly string[], identity: Record<string, string>): Headers {
  const out = new Headers();
  for (const [name, value] of incoming) {
    if (consumed.includes(name) || name.startsWith(KEYWARD_HEADER_PREFIX)) continue;
    out.append(name, value);
  }
  for (const [name, value] of Object.entries(identity)) out.set(name, value);
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
  const timer = setTimeout(() => controller.abort(), options.timeoutMs);
  try {
    const hasBody = request.method !== "GET" && request.method !== "HEAD";
    return await options.fetch(target, {
      method: request.method,
      headers,
      body: hasBody ? request.body : null,
      redirect: "manual",
      signal: controller.signal,
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
    clearTimeout(timer);
  }
}
