import { Hono } from "hono";

/**
 * (a) The local limit: a Hono proxy with no auth at all. Same origin, same
 * request path as the gateways, nothing in between.
 */
type Env = { ORIGIN_URL: string };

const app = new Hono<{ Bindings: Env }>();

app.all("*", (c) => {
  const url = new URL(c.req.url);
  const hasBody = c.req.method !== "GET" && c.req.method !== "HEAD";
  return fetch(`${c.env.ORIGIN_URL}${url.pathname}${url.search}`, {
    method: c.req.method,
    headers: c.req.raw.headers,
    body: hasBody ? c.req.raw.body : null,
    redirect: "manual",
  });
});

export default app;
