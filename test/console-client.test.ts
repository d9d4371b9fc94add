import { describe, expect, it } from "vitest";
import { deleteWebhookRoute, disableKeyRoute, getWebhookRoute, keyUsageRoute } from "../src/admin/route-refs.js";
import { AdminClient, ApiError } from "../src/console/browser/api";
import { DEFAULT_FILTER, keepsStatus, Pages, pageQuery } from "../src/console/browser/key-list";

// The console's admin client and list paging, as pure code (the browser tests drive them in Chromium).

function client(answer: (request: Request) => Response) {
  const seen: Request[] = [];
  const api = new AdminClient({
    org: "acme",
    token: "t",
    signal: new AbortController().signal,
    fetch: async (input, init) => {
      const request = new Request(new URL(String(input), "https://keyward.test"), init);
      seen.push(request);
      return answer(request);
    },
  });
  return { api, seen };
}

describe("console admin client", () => {
  it("takes an empty 204 (or any empty success) as done, for every method", async () => {
    for (const call of [(api: AdminClient) => api.call(deleteWebhookRoute), (api: AdminClient) => api.call(getWebhookRoute)]) {
      const { api, seen } = client(() => new Response(null, { status: 204 }));
      await expect(call(api)).resolves.toBeUndefined();
      expect(seen.map((r) => `${r.method} ${new URL(r.url).pathname}`)).toHaveLength(1);
    }
    const { api } = client(() => new Response("", { status: 200 }));
    await expect(api.call(getWebhookRoute)).resolves.toBeUndefined();
  });

  it("fills the path from the route and its parameters, each percent-encoded, with the session's org", async () => {
    const { api, seen } = client(() => Response.json({}));
    await api.call(disableKeyRoute, { params: { id: "key/../x y" }, body: {} });
    await api.call(keyUsageRoute, { params: { id: "k1" }, query: { granularity: "minute" } });
    expect(seen.map((r) => `${r.method} ${new URL(r.url).pathname}${new URL(r.url).search}`)).toEqual([
      "POST /_keyward/v1/orgs/acme/keys/key%2F..%2Fx%20y/disable",
      "GET /_keyward/v1/orgs/acme/keys/k1/usage?granularity=minute",
    ]);
  });

  it("still reports an error body as ApiError, and a success that is not JSON as HTTP_ERROR", async () => {
    const refused = client(() => Response.json({ code: "NOT_FOUND", message: "No webhook.", requestId: "r1", field: "url" }, { status: 404 }));
    await expect(refused.api.call(deleteWebhookRoute)).rejects.toMatchObject({
      code: "NOT_FOUND",
      message: "No webhook.",
      status: 404,
      requestId: "r1",
      field: "url",
    });
    const garbled = client(() => new Response("<html>", { status: 200 }));
    const error = await garbled.api.call(getWebhookRoute).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ code: "HTTP_ERROR", status: 200 });
    const empty = client(() => new Response(null, { status: 502 }));
    await expect(empty.api.call(getWebhookRoute)).rejects.toMatchObject({ code: "HTTP_ERROR", status: 502 });
  });

  it("asks the listing for one page: search, filters and cursor as query parameters, only when set", async () => {
    const { api, seen } = client(() => Response.json({ keys: [], nextCursor: null }));
    await api.listKeyPage(pageQuery(DEFAULT_FILTER, 25, null));
    await api.listKeyPage(pageQuery({ query: "  billing ", status: "all", environment: "test" }, 50, "abc"));
    expect(seen.map((r) => new URL(r.url).pathname + new URL(r.url).search)).toEqual([
      "/_keyward/v1/orgs/acme/keys?limit=25&status=active",
      "/_keyward/v1/orgs/acme/keys?limit=50&q=billing&environment=test&cursor=abc",
    ]);
  });
});

describe("console list pages", () => {
  it("goes forward on the server's cursors and back through the ones followed; a new search starts again", () => {
    const pages = new Pages();
    expect([pages.cursor, pages.index, pages.back(), pages.forward()]).toEqual([null, 0, false, false]);
    pages.arrived("c1");
    expect(pages.forward()).toBe(true);
    expect([pages.cursor, pages.index]).toEqual(["c1", 1]);
    // No next cursor until the page has arrived: a double click cannot skip a page.
    expect(pages.forward()).toBe(false);
    pages.arrived("c2");
    pages.forward();
    pages.arrived(null);
    expect([pages.cursor, pages.index, pages.forward()]).toEqual(["c2", 2, false]);
    expect(pages.back()).toBe(true);
    expect([pages.cursor, pages.index]).toEqual(["c1", 1]);
    expect(pages.back()).toBe(true);
    expect([pages.cursor, pages.index, pages.back()]).toEqual([null, 0, false]);
    pages.arrived("c1");
    pages.forward();
    pages.reset();
    expect([pages.cursor, pages.index, pages.next]).toEqual([null, 0, null]);
  });

  it("keeps a changed key on the page only while it still matches the status filter", () => {
    const key = { status: "revoked", revokeAt: null } as Parameters<typeof keepsStatus>[0];
    const scheduled = { status: "active", revokeAt: "2030-01-01T00:00:00.000Z" } as Parameters<typeof keepsStatus>[0];
    expect(keepsStatus(key, { ...DEFAULT_FILTER, status: "active" })).toBe(false);
    expect(keepsStatus(key, { ...DEFAULT_FILTER, status: "all" })).toBe(true);
    expect(keepsStatus(key, { ...DEFAULT_FILTER, status: "revoked" })).toBe(true);
    expect(keepsStatus(scheduled, { ...DEFAULT_FILTER, status: "revoking" })).toBe(true);
    expect(keepsStatus(scheduled, { ...DEFAULT_FILTER, status: "active" })).toBe(true);
  });
});
