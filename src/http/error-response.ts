import type { KeywardError } from "../errors";

const REALM = 'realm="keyward"';

function quote(text: string): string {
  return text.replace(/[\\"]/g, "").replace(/[^\x20-\x7e]/g, "");
}

/**
 * The one place errors become responses: JSON `{code, message, requestId}`,
 * `Cache-Control: no-store`, and for 401s an RFC 6750 challenge. No stack
 * trace, key, hash or token ever goes in (messages are written by us).
 */
export function errorResponse(error: KeywardError, requestId: string): Response {
  const headers = new Headers({ "Content-Type": "application/json", "Cache-Control": "no-store", "X-Keyward-Request-Id": requestId });
  for (const [name, value] of Object.entries(error.options.headers ?? {})) headers.set(name, value);
  if (error.status === 401 || (error.status === 403 && error.options.bearerError)) {
    const bearerError = error.options.bearerError;
    // RFC 6750 3.1: a request that carried no credentials gets no error attribute.
    headers.set(
      "WWW-Authenticate",
      bearerError === undefined ? `Bearer ${REALM}` : `Bearer ${REALM}, error="${bearerError}", error_description="${quote(error.message)}"`,
    );
  }
  const body: Record<string, unknown> = { code: error.code, message: error.message, requestId };
  if (error.options.field !== undefined) body.field = error.options.field;
  if (error.options.detail !== undefined) body.detail = error.options.detail;
  if (error.options.limit !== undefined) body.limit = error.options.limit;
  return new Response(JSON.stringify(body), { status: error.status, headers });
}
