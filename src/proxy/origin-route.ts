import type { Config } from "../config";

/** Where one environment's requests go. */
export interface OriginRoute {
  /** Base URL the origin sees (no trailing slash). */
  base: string;
  /** Path prefix the origin receives before the request's path: the context token is bound to it. */
  path: string;
  /** Sends the request: the ORIGIN service binding's fetch, or the network fetch. */
  fetch: typeof fetch;
}

export interface OriginRouteOptions {
  /** Reaches an origin by URL over the network. */
  fetch: typeof fetch;
  /** The origin Worker bound as the ORIGIN service, if any. */
  service?: { fetch: typeof fetch } | undefined;
}

/**
 * Works out once per isolate where live and test requests go. With an ORIGIN
 * service binding, live requests (and test ones, unless ORIGIN_URL_TEST names a
 * separate sandbox) go through the binding: no network hop, same headers, same
 * context token. The URL still decides what the origin sees, path prefix included.
 */
export function originRoutes(config: Pick<Config, "originUrl" | "originUrlTest">, options: OriginRouteOptions): { live: OriginRoute; test: OriginRoute } {
  const service = options.service;
  const route = (base: string, viaService: boolean): OriginRoute => ({
    base,
    path: new URL(base).pathname.replace(/\/$/, ""),
    // Called as a method of the binding: a service binding's fetch needs its receiver.
    fetch: viaService && service ? (input, init) => service.fetch(input, init) : options.fetch,
  });
  const live = route(config.originUrl, true);
  return { live, test: config.originUrlTest === null ? live : route(config.originUrlTest, false) };
}
