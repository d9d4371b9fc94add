import type { AuditList, CreatedKey, CreateKeyInput, KeyList, KeyView, Me, RevokeInput } from "../../admin/api-types";
import { API_PREFIX, callRoute, RouteError, type RouteInput, type RouteRequest } from "../../admin/route-client.js";
import { auditRoute, createKeyRoute, getKeyRoute, listKeysRoute, meRoute, revokeKeyRoute } from "../../admin/route-refs.js";
import type { ParamsOf, ResponseOf, RouteConfig, RouteRef } from "../../http/route-def";
import type { AuditAction } from "../../ledger/audit-actions";

/** What the console asks of the key listing; null or empty leaves a filter out. */
export interface KeyPageQuery {
  limit: number;
  q: string | null;
  status: KeyListStatus | null;
  environment: KeyView["environment"] | null;
  cursor: string | null;
}

/** What the console asks of the audit log; empty leaves a filter out. */
export interface AuditQuery {
  limit?: number;
  key?: string;
  action?: AuditAction | "";
  cursor?: string | null;
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
  /** A pasted token, sent as a bearer token; null when signed in with the session cookie (sent by the browser). */
  token: string | null;
  /** The cookie session's CSRF token, sent with every change (X-Keyward-CSRF). */
  csrfToken?: string | null;
  /** Aborted when the session ends; every call in flight is dropped with it. */
  signal: AbortSignal;
  /** A 401 on a call after sign-in: the token expired or was withdrawn. */
  onUnauthorized?: (error: ApiError) => void;
  fetch?: typeof fetch;
}

type ConsoleParams<D extends RouteConfig> = Omit<ParamsOf<D>, "org">;

/** What a call takes besides its route: the org is the session's; other path parameters, body and query as the route has them. */
export type ConsoleInput<D extends RouteConfig> = Omit<RouteInput<D>, "params"> & { params?: ConsoleParams<D> };

/** The input is optional only for routes whose sole parameter is the org. */
type InputArgs<D extends RouteConfig> = [keyof ConsoleParams<D>] extends [never]
  ? [input?: ConsoleInput<D>]
  : [input: ConsoleInput<D> & { params: ConsoleParams<D> }];

/** The admin API for one organisation and one token, called by route (admin/route-refs.js), typed with the server's own shapes. */
export class AdminClient {
  readonly org: string;
  constructor(private readonly options: AdminClientOptions) {
    this.org = options.org;
  }

  /** Calls one route of this org; resolves with its reply or throws ApiError / Cancelled. */
  async call<D extends RouteConfig>(route: RouteRef<D>, ...[input]: InputArgs<D>): Promise<ResponseOf<D>> {
    const params = { ...(input?.params ?? {}), org: this.options.org } as ParamsOf<D>;
    return this.callAny(route, { ...input, params } as RouteInput<D>);
  }

  /** Calls any route, an org's or not (GET /session), with its own parameters. */
  async callAny<D extends RouteConfig>(route: RouteRef<D>, input: RouteInput<D>): Promise<ResponseOf<D>> {
    const { signal } = this.options;
    try {
      return await callRoute((request) => this.send(request), route, input);
    } catch (error) {
      if (!(error instanceof RouteError)) throw error;
      if (signal.aborted) throw new Cancelled();
      const apiError = new ApiError(error.code, error.fromBody ? error.message : `${error.message}.`, error.status, error.requestId, error.field);
      if (error.status === 401) this.options.onUnauthorized?.(apiError);
      throw apiError;
    }
  }

  /** The transport: the session's token and signal; a network failure is ApiError NETWORK, a dropped session Cancelled. */
  private async send(request: RouteRequest): Promise<{ status: number; text: string }> {
    const { signal } = this.options;
    if (signal.aborted) throw new Cancelled();
    let res: Response;
    try {
      res = await (this.options.fetch ?? fetch)(`${API_PREFIX}${request.path}`, {
        method: request.method,
        signal,
        headers: {
          ...(this.options.token !== null ? { authorization: `Bearer ${this.options.token}` } : {}),
          // With the cookie, every change carries the session's CSRF token (src/sessions/cookie-auth.ts).
          ...(this.options.token === null && request.method !== "GET" && this.options.csrfToken ? { "x-keyward-csrf": this.options.csrfToken } : {}),
          ...(request.body === undefined ? {} : { "content-type": "application/json" }),
        },
        ...(request.body === undefined ? {} : { body: JSON.stringify(request.body) }),
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
    return { status: res.status, text };
  }

  me(): Promise<Me> {
    return this.call(meRoute);
  }

  /**
   * One page of keys as the server pages them: the search and filters go to the
   * server, and `cursor` is the previous page's nextCursor (under the same search
   * and filters), so the console never holds more than a page.
   */
  listKeyPage(query: KeyPageQuery): Promise<KeyList> {
    return this.call(listKeysRoute, {
      query: {
        limit: query.limit,
        q: query.q || undefined,
        status: query.status ?? undefined,
        environment: query.environment ?? undefined,
        cursor: query.cursor || undefined,
      },
    });
  }

  getKey(id: string): Promise<KeyView> {
    return this.call(getKeyRoute, { params: { id } });
  }

  createKey(input: CreateKeyInput): Promise<CreatedKey> {
    return this.call(createKeyRoute, { body: input });
  }

  revokeKey(id: string, input: RevokeInput = {}): Promise<KeyView> {
    return this.call(revokeKeyRoute, { params: { id }, body: input });
  }

  /** One page of the audit log, newest first, filtered on the server; `nextCursor` pages on. */
  audit(query: AuditQuery = {}): Promise<AuditList> {
    return this.call(auditRoute, {
      query: { limit: query.limit ?? 100, key: query.key || undefined, action: query.action || undefined, cursor: query.cursor || undefined },
    });
  }
}
