import type { AnomalyView, Me } from "../../../admin/api-types";
import { actorName } from "../audit-text";
import { h, present, relative, srOnly, when } from "../dom";
import { auditSentences } from "../extensions";
import { run } from "../notify";
import type { ConsoleContext } from "../panel";
import { acknowledge } from "./usage-api";

/** Each anomaly type as a short badge label. */
export const ANOMALY_LABELS: Record<AnomalyView["type"], string> = {
  rate_spike: "rate spike",
  new_country: "new country",
  new_asn: "new network",
  impossible_travel: "impossible travel",
  browser_use: "used from a browser",
  refusal_run: "refusal run",
  dormant_reuse: "dormant key reused",
  revoked_key_used: "revoked key used",
};

/**
 * Whether this caller may acknowledge: the admin API allows it to the org's admins
 * only (the same role that manages keys), so the console asks the same question.
 */
export const canAcknowledge = (me: Me): boolean => me.can.revokeKeys;

/** A badge naming the anomaly's type; the full sentence is its accessible description. */
export const anomalyBadge = (a: AnomalyView) => h("span", { class: "status status-anomaly", title: a.message }, ANOMALY_LABELS[a.type] ?? a.type);

/**
 * One flag: badge, sentence, when it was seen, and either who acknowledged it or
 * (for admins) an Acknowledge button; others are told who can.
 */
export function anomalyItem(
  a: AnomalyView,
  ctx: ConsoleContext,
  options: { keyLink?: Node | null; onAcknowledged: (updated: AnomalyView) => void },
): HTMLLIElement {
  const seen =
    a.firstSeenAt === a.lastSeenAt
      ? `Seen ${when(a.lastSeenAt)} (${relative(a.lastSeenAt)})`
      : `First seen ${when(a.firstSeenAt)}, last ${when(a.lastSeenAt)} (${relative(a.lastSeenAt)})`;
  let action: Node;
  if (a.acknowledgedAt !== null) {
    action = h("span", { class: "muted" }, `Acknowledged ${when(a.acknowledgedAt)}${a.acknowledgedBy ? ` by ${actorName(a.acknowledgedBy)}` : ""}`);
  } else if (canAcknowledge(ctx.me)) {
    const button = h(
      "button",
      { type: "button", class: "secondary ack", "data-anomaly": a.id },
      "Acknowledge",
      srOnly(` (${ANOMALY_LABELS[a.type] ?? a.type})`),
    );
    button.addEventListener("click", async () => {
      const updated = await run(ctx.notify, button, "Acknowledging…", () => acknowledge(ctx.api, a.id));
      if (updated === undefined) return;
      ctx.notify.status(`Acknowledged: ${a.message}`);
      options.onAcknowledged(updated);
    });
    action = button;
  } else {
    action = h("span", { class: "muted no-ack" }, `Only an org admin can acknowledge this (your role: ${ctx.me.role ?? "none"}).`);
  }
  return h(
    "li",
    { class: "anomaly", "data-anomaly": a.id, "data-type": a.type },
    h("div", { class: "anomaly-head" }, ...present(anomalyBadge(a), options.keyLink ?? null)),
    h("p", { class: "anomaly-message" }, a.message),
    h("p", { class: "sub" }, seen),
    h("div", { class: "actions" }, action),
  );
}

// An acknowledgement in the audit log reads as what the admin did, not as its raw fields (anomalyId, type).
auditSentences["anomaly.acknowledged"] = (e) => {
  const type = typeof e.detail.type === "string" ? e.detail.type : null;
  const label = type === null ? "an" : `the “${ANOMALY_LABELS[type as AnomalyView["type"]] ?? type.replace(/_/g, " ")}”`;
  return `Acknowledged ${label} anomaly: marked as seen`;
};
