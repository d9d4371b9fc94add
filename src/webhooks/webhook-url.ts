import ipaddr from "ipaddr.js";

/** Answers the addresses a host name resolves to (A and AAAA). */
export type ResolveHost = (host: string) => Promise<string[]>;

export type UrlVerdict = { ok: true; url: string } | { ok: false; problem: string } | { ok: false; unavailable: true };

const NAMES_NEVER_PUBLIC = /(^|\.)(localhost|local|internal|localdomain|home\.arpa)$/i;

/**
 * Whether an address is ordinary public unicast. ipaddr.js calls the deprecated
 * IPv4-compatible block `::/96` (`::a00:1` is 10.0.0.1 to some stacks) unicast;
 * it is refused here, whatever IPv4 address it carries.
 */
export function publicAddress(address: string): boolean {
  try {
    // process(): an IPv4-mapped IPv6 address is judged as its IPv4 address.
    const parsed = ipaddr.process(address);
    if (parsed.kind() === "ipv6" && (parsed as ipaddr.IPv6).parts.slice(0, 6).every((part) => part === 0)) return false;
    return parsed.range() === "unicast";
  } catch {
    return false;
  }
}

function loopback(host: string): boolean {
  if (host === "localhost") return true;
  try {
    return ipaddr.process(host).range() === "loopback";
  } catch {
    return false;
  }
}

/**
 * Where an org's webhook may point. In production: https only, no credentials
 * in the URL, and the host must be public: an IP literal, or every address its
 * name resolves to, must be ordinary unicast (not private, loopback,
 * link-local, the 169.254.169.254 metadata address, carrier-grade NAT,
 * multicast, reserved, or the IPv4-compatible `::/96`); a name ending in a dot
 * is refused. A name that cannot be resolved now is refused; a
 * resolver that cannot answer is "unavailable" (503, fail closed). In
 * development, plain http and loopback receivers are allowed as well.
 */
export async function checkWebhookUrl(raw: string, options: { production: boolean; resolve: ResolveHost }): Promise<UrlVerdict> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, problem: "must be an absolute URL" };
  }
  if (url.username !== "" || url.password !== "") return { ok: false, problem: "must not carry credentials" };
  const host = url.hostname.replace(/^\[|\]$/g, "");
  if (!options.production && loopback(host) && (url.protocol === "http:" || url.protocol === "https:")) return { ok: true, url: url.toString() };
  if (url.protocol !== "https:")
    return { ok: false, problem: options.production ? "must be https" : "must be https (or http to a loopback address in development)" };
  if (ipaddr.isValid(host)) {
    return publicAddress(host)
      ? { ok: true, url: url.toString() }
      : { ok: false, problem: "must not point at a private, loopback, link-local or reserved address" };
  }
  // A trailing dot (`internal.`, `localhost.`) names the same host and would slip past the name checks.
  if (host.endsWith(".")) return { ok: false, problem: "must not end with a dot; write the host name without it" };
  if (NAMES_NEVER_PUBLIC.test(host) || !host.includes(".")) return { ok: false, problem: "must name a public host" };
  let addresses: string[];
  try {
    addresses = await options.resolve(host);
  } catch {
    return { ok: false, unavailable: true };
  }
  if (addresses.length === 0) return { ok: false, problem: "names a host that does not resolve" };
  if (!addresses.every(publicAddress)) return { ok: false, problem: "names a host that resolves to a private, loopback, link-local or reserved address" };
  return { ok: true, url: url.toString() };
}

/** Resolves A and AAAA records over DNS-over-HTTPS (JSON), with a deadline. */
export function dohResolver(send: typeof fetch, endpoint = "https://cloudflare-dns.com/dns-query", timeoutMs = 3_000): ResolveHost {
  return async (host) => {
    const out: string[] = [];
    for (const type of ["A", "AAAA"]) {
      const response = await send(`${endpoint}?name=${encodeURIComponent(host)}&type=${type}`, {
        headers: { accept: "application/dns-json" },
        signal: AbortSignal.timeout(timeoutMs),
      });
      if (!response.ok) throw new Error(`resolver answered ${response.status}`);
      const body = (await response.json()) as { Status?: number; Answer?: { type: number; data: string }[] };
      if (body.Status !== 0 && body.Status !== 3) throw new Error("resolver failed");
      for (const answer of body.Answer ?? []) if (answer.type === 1 || answer.type === 28) out.push(answer.data);
    }
    return out;
  };
}

export type DeliveryTarget = { ok: true } | { ok: false; error: string };

/**
 * Checked again before each delivery: the addresses a receiver's name resolves to
 * now. A name that resolved to public addresses when the webhook was set may
 * point at a private one later (DNS rebinding); the attempt then fails like any
 * other and is retried on the usual schedule. An IP literal, or a loopback
 * receiver allowed in development, was judged for good when it was set. The
 * fetch that follows resolves the name again itself, so this narrows the window
 * rather than closing it; on Workers, fetch cannot reach private networks either.
 */
export async function checkDeliveryTarget(raw: string, resolve: ResolveHost): Promise<DeliveryTarget> {
  let host: string;
  try {
    host = new URL(raw).hostname.replace(/^\[|\]$/g, "");
  } catch {
    return { ok: false, error: "invalid URL" };
  }
  if (ipaddr.isValid(host) || loopback(host)) return { ok: true };
  let addresses: string[];
  try {
    addresses = await resolve(host);
  } catch {
    return { ok: false, error: "DNS resolution failed" };
  }
  if (addresses.length === 0) return { ok: false, error: "host does not resolve" };
  if (!addresses.every(publicAddress)) return { ok: false, error: "host resolves to a private, loopback, link-local or reserved address" };
  return { ok: true };
}
