/** At most this many origins: a seller's dashboard, its staging twin, a local one. */
export const MAX_CORS_ORIGINS = 20;

/**
 * `ADMIN_CORS_ORIGINS`: the browser origins (scheme, host, port) whose pages may
 * call the admin API with a user's bearer token, comma-separated; empty (the
 * default) allows none. Each entry must be exactly an origin, as a browser sends it
 * in `Origin`: no path, no wildcard. Throws an Error whose message says what to fix.
 */
export function parseCorsOrigins(raw: string | null, production: boolean): string[] {
  if (raw === null) return [];
  const entries = raw
    .split(",")
    .map((entry) => entry.trim())
    .filter((entry) => entry !== "");
  if (entries.length > MAX_CORS_ORIGINS) throw new Error(`must list at most ${MAX_CORS_ORIGINS} origins, got ${entries.length}`);
  return entries.map((entry) => {
    // A wildcard would let any web page use an admin token it got hold of (an XSS
    // elsewhere, a token pasted into the wrong site): the list names its origins.
    if (entry.includes("*")) throw new Error(`must list origins one by one, not ${JSON.stringify(entry)}: a wildcard would let any site call the admin API`);
    let url: URL | null = null;
    try {
      url = new URL(entry);
    } catch {}
    if (url === null || (url.protocol !== "https:" && url.protocol !== "http:")) {
      throw new Error(`has ${JSON.stringify(entry)}, which is not an origin: write scheme, host and port only, e.g. https://dashboard.example.com`);
    }
    if (url.origin !== entry.replace(/\/$/, "").toLowerCase() || url.pathname !== "/" || url.search !== "" || url.hash !== "") {
      throw new Error(`has ${JSON.stringify(entry)}: write the origin only (scheme, host, port), e.g. ${url.origin}`);
    }
    if (production && url.protocol !== "https:") {
      throw new Error(`has ${JSON.stringify(entry)}: origins must be https in production (http is for local development)`);
    }
    return url.origin;
  });
}
