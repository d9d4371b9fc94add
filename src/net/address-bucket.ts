import ipaddr from "ipaddr.js";

/**
 * The client a per-address limit counts, from Cloudflare's client address: an
 * IPv4 address as itself, an IPv6 address as its /64. One IPv6 subscriber is
 * usually given a whole /64 (SLAAC needs one), so limiting each full address
 * would let a single client report from 2^64 of them (threats.md 76). An
 * IPv4-mapped IPv6 address counts as its IPv4 address; anything that does not
 * parse shares one bucket, `unknown`.
 */
export function addressBucket(address: string | null | undefined): string {
  if (address === null || address === undefined) return "unknown";
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    parsed = ipaddr.process(address.trim());
  } catch {
    return "unknown";
  }
  if (parsed.kind() === "ipv4") return parsed.toString();
  return `${ipaddr.IPv6.networkAddressFromCIDR(`${parsed.toString()}/64`).toString()}/64`;
}
