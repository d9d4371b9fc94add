/**
 * An in-memory stand-in for Workers KV, speaking the HTTP protocol that workerd's
 * `kvNamespace` binding uses (the one Miniflare's KV object implements):
 *   GET    /<key>?urlencoded=true[&cache_ttl=N]   -> 200 value | 404
 *   PUT    /<key>?urlencoded=true[&expiration=..] -> 200
 *   DELETE /<key>?urlencoded=true                 -> 200
 *   GET    /?prefix=&key_count_limit=&cursor=     -> list
 * Workers see a real KVNamespace binding; only the storage behind it is a Map.
 * No eventual consistency, no edge cache: every get() is answered from memory.
 */
const store = new Map<string, { value: string; expiration: number | null }>();

function keyOf(url: URL): string {
  const raw = url.pathname.slice(1);
  return url.searchParams.get("urlencoded")?.toLowerCase() === "true" ? decodeURIComponent(raw) : raw;
}

export default {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (request.method === "GET" && url.pathname === "/") {
      const prefix = url.searchParams.get("prefix") ?? "";
      const limit = Number(url.searchParams.get("key_count_limit") ?? 1000);
      const names = [...store.keys()].filter((k) => k.startsWith(prefix)).sort();
      const start = Number(url.searchParams.get("cursor") ?? 0);
      const page = names.slice(start, start + limit);
      const done = start + limit >= names.length;
      return Response.json({
        keys: page.map((name) => ({ name })),
        list_complete: done,
        ...(done ? {} : { cursor: String(start + limit) }),
        cacheStatus: null,
      });
    }
    const key = keyOf(url);
    switch (request.method) {
      case "GET": {
        const entry = store.get(key);
        if (entry === undefined || (entry.expiration !== null && entry.expiration <= Date.now() / 1000)) {
          return new Response("Not Found", { status: 404 });
        }
        const headers: Record<string, string> = entry.expiration === null ? {} : { "CF-Expiration": String(entry.expiration) };
        return new Response(entry.value, { headers });
      }
      case "PUT": {
        const ttl = url.searchParams.get("expiration_ttl");
        const at = url.searchParams.get("expiration");
        const expiration = at !== null ? Number(at) : ttl !== null ? Date.now() / 1000 + Number(ttl) : null;
        store.set(key, { value: await request.text(), expiration });
        return new Response(null);
      }
      case "DELETE":
        store.delete(key);
        return new Response(null);
      default:
        return new Response("Method Not Allowed", { status: 405 });
    }
  },
};
