import type { Context, Hono, MiddlewareHandler } from "hono";
import * as z from "zod";
import { KeywardError } from "../errors";
import type { KeywardEnv } from "./keyward-env";
import { MAX_BODY_BYTES, readBody, readBodyBytes, readQuery } from "./request-input";
import { type Access, METHOD_ORDER, type ReplyOf, type RouteConfig, type RouteInput } from "./route-def";

/** The query of a route that takes none: every parameter is unknown. */
const NO_QUERY = z.strictObject({});

export type RouteHandler<D extends RouteConfig, Who> = (c: Context<KeywardEnv>, input: RouteInput<D, Who>) => Promise<ReplyOf<D>>;

export interface RouteTableOptions<Who> {
  /**
   * Decides whether the caller may use a route of this access (throwing the
   * contract's 401/403/404 when not), and answers who it is. Given the path's
   * parameters, of which `org` is already checked. Needed once any route is not public.
   */
  authorize?: (access: Exclude<Access, "public">, c: Context<KeywardEnv>, params: Record<string, string>) => Promise<Who>;
}

export interface RouteTable<Who> {
  /** Mounts a route: `before` runs ahead of its validation (a rate limit that must count every call). */
  add<D extends RouteConfig>(def: D, handler: RouteHandler<D, Who>, ...before: MiddlewareHandler<KeywardEnv>[]): void;
  /** After the last `add`: each defined path answers its other methods with 405 and Allow, changing nothing. */
  close(): void;
  /** The definitions mounted so far, in order. */
  readonly defs: readonly RouteConfig[];
}

/**
 * Mounts route definitions (http/route-def.ts) on a Hono app. A request meets,
 * in this order: the `org` path parameter (404: it scopes the authorisation
 * that follows), authorisation, the query (a route without one refuses any
 * parameter), the JSON body (capped), the other
 * path parameters (404), then the handler; the handler's answer goes out as
 * JSON with the definition's status. Every refusal is a KeywardError, so the
 * app's error handler answers it in the contract's shape.
 */
export function routeTable<Who>(app: Hono<KeywardEnv>, options: RouteTableOptions<Who> = {}): RouteTable<Who> {
  const defs: RouteConfig[] = [];
  return {
    defs,
    add(def, handler, ...before) {
      if (defs.some((d) => d.method === def.method && d.path === def.path)) throw new Error(`route defined twice: ${def.method} ${def.path}`);
      const authorize = options.authorize;
      if (def.access !== "public" && authorize === undefined) throw new Error(`route ${def.method} ${def.path} needs an authorize option`);
      defs.push(def);
      app.on([def.method.toUpperCase()], [def.path], ...before, async (c: Context<KeywardEnv>) => {
        const given = c.req.param() as Record<string, string>;
        const params: Record<string, string> = {};
        const check = (name: string, param: { pattern: RegExp; notFound: string }) => {
          const value = given[name] ?? "";
          if (!param.pattern.test(value)) throw new KeywardError("NOT_FOUND", param.notFound);
          params[name] = value;
        };
        const described = Object.entries(def.params ?? {});
        for (const [name, param] of described) if (name === "org") check(name, param);
        const who = def.access === "public" || authorize === undefined ? undefined : await authorize(def.access, c, params);
        // A route that takes no query still reads it: a parameter it ignored would look
        // honoured (`/audit?key=…` answering every key's events), so any is a 400.
        const query = readQuery(c.req.url, def.query ?? NO_QUERY);
        let body: unknown;
        if (def.body?.raw) {
          const max = def.body.maxBytes;
          body = () => readBodyBytes(c.req.raw, max ?? MAX_BODY_BYTES);
        } else if (def.body !== undefined) {
          body = await readBody(c.req.raw, def.body.schema, def.body.maxBytes);
        }
        for (const [name, param] of described) if (name !== "org") check(name, param);
        const reply = await handler(c, { params, query: def.query === undefined ? undefined : query, body, who } as RouteInput<typeof def, Who>);
        if (def.reply.status === 204) return c.body(null, 204);
        return c.json(reply as object, def.reply.status);
      });
    },
    close() {
      const paths = new Map<string, Set<string>>();
      for (const def of defs) paths.set(def.path, (paths.get(def.path) ?? new Set()).add(def.method));
      // Fixed paths first: PUT /orgs/x/keys/revoke-all is answered with revoke-all's Allow, not that of /keys/:id.
      const params = (path: string) => path.split("/:").length;
      for (const [path, methods] of [...paths].sort(([a], [b]) => params(a) - params(b))) {
        const allow = METHOD_ORDER.filter((m) => methods.has(m))
          .map((m) => m.toUpperCase())
          .join(", ");
        app.all(path, (c) => {
          throw new KeywardError("METHOD_NOT_ALLOWED", `${c.req.method} is not allowed here; use ${allow}.`, { headers: { Allow: allow } });
        });
      }
    },
  };
}
