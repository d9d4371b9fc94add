import type { AuditList, CreatedKey, CreateKeyInput, ErrorBody, KeyList, KeyView, Me, RevokeInput } from "../../admin/api-types";

/** What the console asks of the key listing; null or empty leaves a filter out. */
export interface KeyPageQuery {
  limit: number;
  q: string | null;
  status: KeyListStatus | null;
  environment: KeyView["environment"] | null;
  cursor: string | null;
}

/** A listing filter: a key's status, or revoking (active, revocation scheduled). */
export type KeyListStatus = KeyView["status"] | "revoking";

/** A failed admin call, from the API's error body, or a network failure (code NETWORK, status 0). */
export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
    readonly requestId: string | null = null,
    readonly field: string | null = null,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

/** A call that was abandoned because the session ended (sign-out, org switch): nobody is told. */
export class Cancelled extends Error {
  constructor() {
    super("cancelled");
    this.name = "Cancelled";
  }
}

export interface AdminClientOptions {
  org: string;
  token: string;
  /** Aborted when the session ends; every call in flight is dropped with it. */
  signal: AbortSignal;
  /** A 401 on a call after sign-in: the token expired or was withdrawn. */
  onUnauthorized?: (error: ApiError) => void;
  fetch?: typeof fetch;
}

function isErrorBody(body: unknown): body is ErrorBody {
  return typeof body === "object" && body !== null && typeof (body as ErrorBody).code === "string" && typeof (body as ErrorBody).message === "string";
}

/** The admin API for one organisation and one token, typed with the server's own shapes. */
export class AdminClient {
  readonly org: string;
  constructor(private readonly options: AdminClientOptions) {
    this.org = options.org;
  }

  /** Sends one call; resolves with the parsed body or throws ApiError / Cancelled. */
  async call<T>(method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE", path: string, body?: unknown): Promise<T> {
    const { signal } = this.options;
    if (signal.aborted) throw new Cancelled();
    let res: Response;
    try {
      res = await (this.options.fetch ?? fetch)(`/_keyward/v1/orgs/${encodeURIComponent(this.options.org)}${path}`, {
        method,
        signal,
        headers: { authorization: `Bearer ${this.options.token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch {
      if (signal.aborted) throw new Cancelled();
      throw new ApiError("NETWORK", "Keyward could not be reached (network error). Check your connection and try again.", 0);
    }
    let text = "";
    try {
      text = await res.text();
    } catch {
      if (signal.aborted) throw new Cancelled();
    }
    if (signal.aborted) throw new Cancelled();
    // 204 (a removal) and any other empty success: nothing to parse, nothing returned.
    if (res.ok && text === "") return undefined as T;
    let parsed: unknown = null;
    try {
      parsed = JSON.parse(text);
    } catch {}
    if (!res.ok) {
      const error = isErrorBody(parsed)
        ? new ApiError(parsed.code, parsed.message, res.status, parsed.requestId ?? null, parsed.field ?? null)
        : new ApiError("HTTP_ERROR", `Keyward answered HTTP ${res.status} without an error body.`, res.status);
      if (res.status === 401) this.options.onUnauthorized?.(error);
      throw error;
    }
    if (parsed === null) throw new ApiError("HTTP_ERROR", `Keyward answered HTTP ${res.status} with a body that is not JSON.`, res.status);
    return parsed as T;
  }

  me(): Promise<Me> {
    return this.call("GET", "/me");
  }

  /**
   * One page of keys as the server pages them: the search and filters go to the
   * server, and `cursor` is the previous page's nextCursor (under the same search
   * and filters), so the console never holds more than a page.
   */
  listKeyPage(query: KeyPageQuery): Promise<KeyList> {
    const params = new URLSearchParams({ limit: String(query.limit) });
    if (query.q) params.set("q", query.q);
    if (query.status) params.set("status", query.status);
    if (query.environment) params.set("environment", query.environment);
    if (query.cursor) params.set("cursor", query.cursor);
    return this.call("GET", `/keys?${params}`);
  }

  getKey(id: string): Promise<KeyView> {
    return this.call("GET", `/keys/${encodeURIComponent(id)}`);
  }

  createKey(input: CreateKeyInput): Promise<CreatedKey> {
    return this.call("POST", "/keys", input);
  }

  revokeKey(id: string, input: RevokeInput = {}): Promise<KeyView> {
    return this.call("POST", `/keys/${encodeURIComponent(id)}/revoke`, input);
  }

  async audit(): Promise<AuditList["events"]> {
    return (await this.call<AuditList>("GET", "/audit")).events;
  }
}
