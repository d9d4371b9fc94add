import type { KeyView } from "../../../admin/api-types";
import { h, when } from "../dom";
import { auditSentences, keyBadges, keyDetailSections } from "../extensions";

// Incident response (issue 11) on a key: the "leaked" badge with where it was
// found, and the addresses the key may be used from (fixed at creation).

/** Who reported the leak, in words. */
export function leakSource(source: string): string {
  if (source === "secret-scanning:github") return "GitHub secret scanning";
  if (source === "report") return "a report to /_keyward/v1/leaks (anyone holding the key)";
  return source;
}

/**
 * The report's URL as a link when it is an http(s) URL; anything else (it comes
 * from outside: GitHub or whoever reported the key) is shown as text only.
 */
export function leakLink(url: string): HTMLElement {
  let safe = false;
  try {
    safe = ["https:", "http:"].includes(new URL(url).protocol);
  } catch {}
  return safe
    ? h("a", { href: url, class: "mono leak-url", rel: "noopener noreferrer nofollow", target: "_blank" }, url)
    : h("code", { class: "mono leak-url" }, url);
}

function leakedBadge(k: KeyView): Node | null {
  if (k.leaked === null) return null;
  return h("span", { class: "status status-leaked", title: k.leaked.url ?? "reported leaked" }, "leaked");
}

/** Splits what an admin typed (spaces, commas or new lines) into allow-list entries; the server validates each. */
export function parseAllowedIps(text: string): string[] {
  return text.split(/[\s,]+/).filter(Boolean);
}

/** The create form's "Allowed IPs" field (panels/keys.ts places it); `value()` is undefined when empty (any address). */
export function allowedIpsField(): { label: HTMLLabelElement; input: HTMLInputElement; value(): string[] | undefined } {
  const input = h("input", {
    id: "allowed-ips",
    name: "allowedIps",
    placeholder: "e.g. 203.0.113.0/24 2001:db8::/32",
    autocomplete: "off",
    spellcheck: "false",
  });
  const label = h("label", { class: "grow" }, "Allowed IPs (addresses or CIDRs, space-separated; empty: any address; fixed for the key's life)", input);
  return {
    label,
    input,
    value() {
      const entries = parseAllowedIps(input.value);
      return entries.length ? entries : undefined;
    },
  };
}

function incidentSection(k: KeyView): Node {
  const rows: [string, Node | string][] = [
    [
      "Allowed IPs",
      k.allowedIps === null || k.allowedIps.length === 0
        ? "any address"
        : h("span", { id: "allowed-ips-list" }, ...k.allowedIps.flatMap((cidr, i) => [i ? " " : "", h("code", { class: "mono" }, cidr)])),
    ],
  ];
  if (k.leaked !== null) {
    rows.unshift(
      ["Leaked", h("span", null, h("span", { class: "status status-leaked" }, "leaked"), ` reported ${when(k.leaked.at)} by ${leakSource(k.leaked.source)}`)],
      ["Found at", k.leaked.url === null ? "no URL given" : leakLink(k.leaked.url)],
    );
  }
  return h(
    "section",
    { id: "incident", "aria-labelledby": "incident-title" },
    h("h2", { id: "incident-title" }, k.leaked === null ? "Network" : "Leak and network"),
    k.leaked !== null && k.status === "active"
      ? h("p", { class: "warning" }, "This key was reported leaked but is not revoked (LEAK_ACTION=notify): revoke it and issue a new one.")
      : null,
    h("dl", { class: "facts", id: "incident-facts" }, ...rows.flatMap(([name, value]) => [h("dt", null, name), h("dd", null, value)])),
  );
}

// The reporter is the event's actor (secret-scanning:github or report).
const reported = (e: { actor: string; detail: Record<string, unknown> }, what: string) => {
  const url = typeof e.detail.url === "string" ? e.detail.url : null;
  const notified = e.detail.action === "notify" ? " (not revoked: LEAK_ACTION=notify)" : "";
  return `${what} by ${leakSource(e.actor)}${url ? `, found at ${url}` : ""}${notified}`;
};
auditSentences["key.leaked"] = (e) => reported(e, "Reported leaked");
// Repeats within a minute are one entry with a count (docs/leaks.md).
auditSentences["key.leak_reported_again"] = (e) =>
  reported(e, e.count > 1 ? `Reported leaked again (${e.count} times within a minute)` : "Reported leaked again");

keyBadges.push(leakedBadge);
keyDetailSections.push(incidentSection);
