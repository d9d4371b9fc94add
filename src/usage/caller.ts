import type { Caller } from "./usage-book";

/** User-agent families Keyward tells apart; anything else is "other", no header is "none". */
const FAMILIES: [RegExp, string][] = [
  [/\bcurl\//i, "curl"],
  [/\bwget\//i, "wget"],
  [/python-requests|python-urllib|aiohttp|httpx/i, "python"],
  [/\bnode(-fetch)?\b|\bundici\b|axios/i, "node"],
  [/go-http-client/i, "go"],
  [/okhttp|java\//i, "java"],
  [/postman/i, "postman"],
  [/\bedg\//i, "edge"],
  [/\bfirefox\//i, "firefox"],
  [/\bchrome\//i, "chrome"],
  [/\bsafari\//i, "safari"],
];

/** User agents already classified in this isolate; a client sends the same header on every request. */
const familyOf = new Map<string, string>();
/** Entries kept: enough for the clients of a busy isolate, bounded whatever clients send. */
const FAMILY_CACHE = 256;

/** A coarse family for a User-Agent header: keeps what is useful to spot a change, never the header itself. */
export function agentFamily(userAgent: string | null): string {
  if (userAgent === null) return "none";
  const known = familyOf.get(userAgent);
  if (known !== undefined) return known;
  const family = classify(userAgent);
  // Forget everything rather than track age: refilling costs one regex pass per agent.
  if (familyOf.size >= FAMILY_CACHE) familyOf.clear();
  familyOf.set(userAgent, family);
  return family;
}

function classify(userAgent: string): string {
  if (userAgent.trim() === "") return "none";
  for (const [pattern, family] of FAMILIES) if (pattern.test(userAgent)) return family;
  return "other";
}

/** request.cf as Workers fills it in production; absent under local dev and in tests unless they pass it. */
interface CfProperties {
  country?: unknown;
  asn?: unknown;
  colo?: unknown;
  city?: unknown;
  postalCode?: unknown;
}

/**
 * Whether request.cf is miniflare's stand-in (Austin, US, colo DFW, AS395747),
 * which `wrangler dev` hands every request when it cannot fetch a real one. It
 * describes no caller, so in development its location is dropped rather than
 * shown as if every request came from Texas (threats.md 81).
 */
export function isPlaceholderCf(cf: CfProperties | undefined): boolean {
  return cf?.asn === 395747 && cf.colo === "DFW" && cf.country === "US" && cf.city === "Austin" && cf.postalCode === "78701";
}

/**
 * What the gateway knows of the caller, for usage counting. Country, ASN and
 * colo come from Cloudflare (request.cf), never from client headers; "browser"
 * means an Origin or Sec-Fetch-Site header was sent, which browsers add on their
 * own and command-line clients do not. Sec-Fetch-Mode alone is not enough: Node's
 * fetch (undici) sends `Sec-Fetch-Mode: cors` on every request, so a Node server
 * calling the API would otherwise be flagged as a browser on each report.
 * `development`: miniflare's placeholder location is dropped (`isPlaceholderCf`).
 */
export function describeCaller(request: Request, development = false): Caller {
  const given = (request as { cf?: CfProperties }).cf;
  const cf = development && isPlaceholderCf(given) ? undefined : given;
  // "XX" is Cloudflare's "unknown"; an unknown country is left out rather than counted as a place.
  const country = typeof cf?.country === "string" && /^[A-Z0-9]{2}$/.test(cf.country) && cf.country !== "XX" ? cf.country : null;
  const asn = typeof cf?.asn === "number" && Number.isInteger(cf.asn) && cf.asn > 0 ? cf.asn : null;
  const colo = typeof cf?.colo === "string" && /^[A-Z]{3}$/.test(cf.colo) ? cf.colo : null;
  const h = request.headers;
  const browser = h.has("origin") || h.has("sec-fetch-site");
  return { country, asn, colo, browser, agent: agentFamily(h.get("user-agent")) };
}
