/**
 * Client SDK for APIs behind Keyward: sets the API key (and optional user
 * token) on every request and turns Keyward's errors into typed exceptions.
 *
 *   const api = new Client({ apiKey: process.env.API_KEY, baseUrl: "https://api.example.com" });
 *   const res = await api.fetch("/v1/customers");
 */
export interface ClientOptions {
  apiKey: string;
  baseUrl?: string;
  /** A user token that narrows what the key may do (sent as Authorization: Bearer). */
  userToken?: string;
  /** Name of the API key header, if the deployment changed it. */
  apiKeyHeader?: string;
  fetch?: typeof fetch;
}

export class KeywardApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly requestId: string | null,
    readonly retryAfterSeconds: number | null,
  ) {
    super(message);
    this.name = "KeywardApiError";
  }
}

const KEY_SHAPE = /^[a-z][a-z0-9]{0,15}_(live|test)_[0-9a-f]{40}$/;

export class Client {
  private readonly options: ClientOptions;

  constructor(options: ClientOptions) {
    if (!KEY_SHAPE.test(options.apiKey)) throw new TypeError("apiKey does not look like a Keyward key (e.g. sk_live_ followed by 40 hex characters)");
    this.options = options;
  }

  /** Like fetch, with credentials set. Keyward's own refusals (JSON with a code) throw KeywardApiError. */
  async fetch(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.options.userToken) {
      headers.set(this.options.apiKeyHeader ?? "x-api-key", this.options.apiKey);
      headers.set("authorization", `Bearer ${this.options.userToken}`);
    } else {
      headers.set("authorization", `Bearer ${this.options.apiKey}`);
    }
    const url = this.options.baseUrl ? new URL(path, this.options.baseUrl) : path;
    const res = await (this.options.fetch ?? fetch)(url, { ...init, headers });
    if (res.ok || !(res.headers.get("content-type") ?? "").includes("application/json") || !res.headers.has("x-keyward-request-id")) return res;
    const body = (await res.clone().json()) as { code?: string; message?: string; requestId?: string };
    if (typeof body.code !== "string") return res;
    const retryAfter = res.headers.get("retry-after");
    throw new KeywardApiError(res.status, body.code, body.message ?? body.code, body.requestId ?? null, retryAfter === null ? null : Number(retryAfter));
  }
}
