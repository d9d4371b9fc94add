import type * as z from "zod";

/**
 * One definition per HTTP route: method, path, who may call it, what it takes
 * (path parameters, query, JSON body) and what it answers. http/route-table.ts
 * mounts a definition with its handler (validating the input before the handler
 * runs and answering 405 with Allow for the path's other methods);
 * admin/openapi.ts turns the same definitions into the OpenAPI document; the
 * console's types (admin/api-types.ts) are read off them. Data only, no Hono:
 * the console's browser program type-checks against this module.
 */

export type Method = "get" | "post" | "put" | "patch" | "delete";

/** Allow lists methods in this order. */
export const METHOD_ORDER: readonly Method[] = ["get", "post", "put", "patch", "delete"];

/**
 * Who may call a route. `public`: anyone; `token`: any valid admin token (user or
 * operator); the others are admin/admin-auth.ts `permit`, against the path's org.
 */
/** `orgUser` and `orgAdmin` admit the operator too: it may do whatever an org admin may, in any org. */
export type Access = "public" | "token" | "orgUser" | "orgAdmin" | "orgAdminOrOperator" | "operator";

/**
 * A path parameter. A value that does not match the pattern names nothing that
 * exists, so it is answered as a miss (404 NOT_FOUND with `notFound`), never 400.
 */
export interface PathParam {
  pattern: RegExp;
  notFound: string;
}

/** Names of a path's parameters: "/orgs/:org/keys/:id" gives "org" | "id". */
export type ParamNames<P extends string> = P extends `${string}:${infer Name}/${infer Rest}`
  ? Name | ParamNames<`/${Rest}`>
  : P extends `${string}:${infer Name}`
    ? Name
    : never;

export interface RouteBody {
  schema: z.ZodType;
  required: boolean;
  /** Default http/request-input.ts MAX_BODY_BYTES. */
  maxBytes?: number;
  /**
   * The handler reads the bytes itself (a signed body is verified before it is
   * parsed) and validates them against `schema`, which then only documents them.
   */
  raw?: true;
}

export interface RouteConfig {
  method: Method;
  /** Hono syntax, relative to /_keyward/v1: "/orgs/:org/keys/:id". */
  path: string;
  summary: string;
  access: Access;
  params?: Record<string, PathParam>;
  query?: z.ZodType;
  body?: RouteBody;
  reply: { status: 200 | 201 | 202 | 204; description: string; schema?: z.ZodType };
  /** Error statuses besides those the definition implies (see admin/openapi.ts `errorStatuses`). */
  errors?: readonly number[];
}

/** The `params` a path needs: one entry per parameter, no more. */
type ParamsFor<P extends string> = [ParamNames<P>] extends [never] ? { params?: undefined } : { params: { [K in ParamNames<P>]: PathParam } };

/** Checks a definition against its path (every parameter described) and keeps its exact type for handlers. */
export function defineRoute<const D extends RouteConfig>(def: D & ParamsFor<D["path"]>): D {
  return def;
}

/** What a handler is given, validated: `who` is what authorisation answered (nothing on public routes). */
export interface RouteInput<D extends RouteConfig, Who> {
  params: { [K in ParamNames<D["path"]>]: string };
  query: D["query"] extends z.ZodType ? z.output<D["query"]> : undefined;
  body: D["body"] extends { raw: true } ? () => Promise<Uint8Array> : D["body"] extends { schema: infer S extends z.ZodType } ? z.output<S> : undefined;
  who: D["access"] extends "public" ? undefined : Who;
}

/** What a handler returns: the reply's JSON (checked against its schema at compile time), or null for 204. */
export type ReplyOf<D extends RouteConfig> = D["reply"] extends { schema: infer S extends z.ZodType } ? z.input<S> : null;

/** A reply as the client reads it (nothing for a route that answers without a body). */
export type ResponseOf<D extends RouteConfig> = D["reply"] extends { schema: infer S extends z.ZodType } ? z.output<S> : undefined;

/** A request body as the client writes it. */
export type RequestOf<D extends RouteConfig> = D["body"] extends { schema: infer S extends z.ZodType } ? z.input<S> : never;

/** A query as the client writes it. */
export type QueryOf<D extends RouteConfig> = D["query"] extends z.ZodType ? z.input<D["query"]> : never;

/** The path parameters a client fills in: "/orgs/:org/keys/:id" needs `{ org, id }`. */
export type ParamsOf<D extends RouteConfig> = { [K in ParamNames<D["path"]>]: string };

/**
 * What a client needs of a route to call it: its method and path, as data
 * (admin/route-refs.js, generated from the definitions, so that the CLI can load
 * it in Node and the console without zod). `definition` is never set: it carries
 * the definition's type, from which the client reads params, body and reply.
 */
export interface RouteRef<D extends RouteConfig = RouteConfig> {
  readonly method: D["method"];
  readonly path: D["path"];
  readonly definition?: D;
}
