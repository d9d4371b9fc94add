import type { AnomalyView } from "../../../admin/api-types";
import { h } from "../dom";
import { keyBadges } from "../extensions";
import type { ConsoleContext } from "../panel";
import { anomalyBadge } from "./anomaly-items";
import { anomalies } from "./usage-api";

// Open anomalies as badges next to each key's status (list and detail). The open
// flags are fetched once per session (one call at sign-in, again whenever the
// anomalies view loads or a flag is acknowledged) and kept with that session's
// context, so a later session never sees them.

let owner: ConsoleContext | null = null;
let openByKey = new Map<string, AnomalyView[]>();

function fill(span: Element): void {
  const id = span.getAttribute("data-anomaly-key") ?? "";
  span.replaceChildren(...(openByKey.get(id) ?? []).map(anomalyBadge));
}

/** Replaces the session's open flags and redraws every badge on the page. */
export function setOpenAnomalies(ctx: ConsoleContext, open: readonly AnomalyView[]): void {
  if (owner !== ctx) return;
  openByKey = new Map();
  for (const a of open) if (a.acknowledgedAt === null) openByKey.set(a.keyId, [...(openByKey.get(a.keyId) ?? []), a]);
  for (const span of document.querySelectorAll("[data-anomaly-key]")) fill(span);
}

/** Called when a session's panels are created: forgets the previous session's flags and loads this one's. */
export function startAnomalyBadges(ctx: ConsoleContext): void {
  owner = ctx;
  openByKey = new Map();
  anomalies(ctx.api, "open").then(
    (list) => setOpenAnomalies(ctx, list),
    // Badges are a hint; the anomalies view reports its own failures.
    () => undefined,
  );
}

keyBadges.push((k) => {
  const span = h("span", { class: "anomaly-badges", "data-anomaly-key": k.id });
  fill(span);
  return span;
});
