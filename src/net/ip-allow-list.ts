import ipaddr from "ipaddr.js";

/**
 * Per-key IP allow-lists: CIDRs or single addresses, IPv4 and IPv6, parsed by
 * ipaddr.js (no hand-written address parsing). Pure functions: the admin API
 * normalises a list once at creation, the gateway matches the client address
 * against the stored, already normal list.
 */

/** At most this many entries per key: a list is matched on every request. */
export const MAX_ALLOWED_IPS = 100;

type Range = [ipaddr.IPv4 | ipaddr.IPv6, number];

/** An IPv4-mapped IPv6 address (`::ffff:203.0.113.7`) is judged as the IPv4 address it carries. */
function unmap(range: Range): Range {
  const [address, bits] = range;
  if (address.kind() === "ipv6" && (address as ipaddr.IPv6).isIPv4MappedAddress() && bits >= 96) {
    return [(address as ipaddr.IPv6).toIPv4Address(), bits - 96];
  }
  return range;
}

function parseEntry(entry: string): Range | null {
  const text = entry.trim();
  try {
    if (text.includes("/")) {
      if (!ipaddr.isValidCIDR(text)) return null;
      return unmap(ipaddr.parseCIDR(text));
    }
    // Only the usual textual forms: ipaddr.isValid also takes "1" or "0x7f.1", which nobody means.
    if (!ipaddr.IPv4.isValidFourPartDecimal(text) && !ipaddr.IPv6.isValid(text)) return null;
    const address = ipaddr.parse(text);
    return unmap([address, address.kind() === "ipv4" ? 32 : 128]);
  } catch {
    return null;
  }
}

/**
 * Normalises an allow-list: each entry becomes `network/bits` (a single address
 * is /32 or /128; host bits are cleared). Answers the index of the first invalid
 * entry instead, so the caller can name the field.
 */
export function normaliseAllowList(entries: readonly string[]): { ok: true; list: string[] } | { ok: false; index: number } {
  const list: string[] = [];
  for (const [index, entry] of entries.entries()) {
    const range = parseEntry(entry);
    if (range === null) return { ok: false, index };
    const [address, bits] = range;
    const network =
      address.kind() === "ipv4"
        ? ipaddr.IPv4.networkAddressFromCIDR(`${address.toString()}/${bits}`).toString()
        : ipaddr.IPv6.networkAddressFromCIDR(`${address.toString()}/${bits}`).toString();
    const normal = `${network}/${bits}`;
    if (!list.includes(normal)) list.push(normal);
  }
  return { ok: true, list };
}

/**
 * Whether `address` (the client address as Cloudflare reports it) is inside one
 * of the normalised `list` entries. No address, or one that does not parse, is
 * never allowed: an allow-list that cannot be checked refuses (fail closed).
 */
export function ipAllowed(list: readonly string[], address: string | null): boolean {
  if (address === null) return false;
  let client: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    // process() turns an IPv4-mapped IPv6 address into its IPv4 address.
    client = ipaddr.process(address.trim());
  } catch {
    return false;
  }
  for (const entry of list) {
    const range = parseEntry(entry);
    if (range !== null && range[0].kind() === client.kind() && client.match(range)) return true;
  }
  return false;
}
