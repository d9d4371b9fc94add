import type * as z from "zod";
import { KeywardError } from "../errors";

/**
 * Reading and validating what a request carries (query, JSON body), for the
 * routes of http/route-table.ts. Every failure is the error contract's 400
 * INVALID_REQUEST with `field` set and a message that starts with that field and
 * says what would be accepted, so a client (or the console) can point at it.
 */

/** Admin request bodies are small; anything larger is refused before it is read in full. */
export const MAX_BODY_BYTES = 16 * 1024;

/**
 * Reads a request body of at most `max` bytes, refusing a larger one (by its declared
 * length, or while streaming) with 400 INVALID_REQUEST before it is read in full.
 * The one capped reader: JSON bodies and the raw bodies of signed webhooks use it.
 */
export async function readBodyBytes(request: Request, max: number, what = "bytes"): Promise<Uint8Array> {
  const tooLarge = () => new KeywardError("INVALID_REQUEST", `body: must be at most ${max} ${what}`, { field: "body" });
  if (Number(request.headers.get("content-length") ?? "0") > max) throw tooLarge();
  if (!request.body) return new Uint8Array();
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel();
      throw tooLarge();
    }
    chunks.push(value);
  }
  const all = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    all.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return all;
}

/**
 * The validation hook: a Zod failure as the contract's 400, naming the first field at
 * fault (`scopes.0`, `credits.refill.refillDay`), or `fallback` for the input as a whole.
 */
export function fieldError(error: z.ZodError, fallback: string): KeywardError {
  const issue = error.issues[0] as z.core.$ZodIssue;
  const field = issue.code === "unrecognized_keys" ? [...issue.path, issue.keys[0]].join(".") : issue.path.length > 0 ? issue.path.join(".") : fallback;
  const message = issue.code === "unrecognized_keys" ? "is not a known field; remove it" : issue.message;
  return new KeywardError("INVALID_REQUEST", `${field}: ${message}`, { field });
}

/** Reads and validates a query string; a 400 names the first parameter at fault. A repeated parameter is refused. */
export function readQuery<T extends z.ZodType>(url: string, schema: T): z.output<T> {
  const params = new URL(url).searchParams;
  const query: Record<string, string> = {};
  for (const [name, value] of params) {
    if (name in query) throw new KeywardError("INVALID_REQUEST", `${name}: must be given once`, { field: name });
    query[name] = value;
  }
  const parsed = schema.safeParse(query);
  if (parsed.success) return parsed.data;
  throw fieldError(parsed.error, "query");
}

/**
 * Reads and validates a JSON body of at most `max` bytes; a 400 names the first
 * field at fault. An empty body is `{}`, whatever its Content-Type says.
 */
export async function readBody<T extends z.ZodType>(request: Request, schema: T, max = MAX_BODY_BYTES): Promise<z.output<T>> {
  const text = new TextDecoder().decode(await readBodyBytes(request, max, "bytes of JSON")).trim();
  let json: unknown = {};
  if (text !== "") {
    try {
      json = JSON.parse(text);
    } catch {
      throw new KeywardError("INVALID_REQUEST", "body: must be valid JSON", { field: "body" });
    }
  }
  const parsed = schema.safeParse(json);
  if (parsed.success) return parsed.data;
  throw fieldError(parsed.error, "body");
}
