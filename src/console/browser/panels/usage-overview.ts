import type { AnomalyView, OrgUsage } from "../../../admin/api-types";
import { h, present } from "../dom";
import { loading } from "../notify";
import type { ConsoleContext, Panel, PanelFactory } from "../panel";
import { setOpenAnomalies, startAnomalyBadges } from "../usage/anomaly-badges";
import { anomalyItem } from "../usage/anomaly-items";
import { stackedBars } from "../usage/charts";
import { codesText, denseSeries, totals, USAGE_RANGES, type UsageRange } from "../usage/series";
import { type AnomalyStatus, anomalies, orgUsage } from "../usage/usage-api";

/** A key as the usage and anomaly answers name it. */
type Named = { keyId: string; keyLabel: string | null; keyPrefix: string | null };

/**
 * Usage: the organisation's admitted and refused requests over 24 hours (per hour),
 * 7 or 30 days (per day), its busiest keys over that range, and its anomalies (open, acknowledged or all) with an
 * Acknowledge button for admins. Three admin calls, all answered by the ledger.
 */
function usagePanel(ctx: ConsoleContext): Panel {
  let loads = 0;
  let status: AnomalyStatus = "open";
  let range: UsageRange = "24h";
  startAnomalyBadges(ctx);

  const heading = h("h1", { id: "usage-panel-title", tabindex: "-1", "data-focus": true }, "Usage and anomalies");
  const chart = h("div", { id: "org-usage" }, loading("usage"));
  const rangeSelect = h(
    "select",
    { id: "usage-range" },
    h("option", { value: "24h" }, "Last 24 hours"),
    h("option", { value: "7d" }, "Last 7 days"),
    h("option", { value: "30d" }, "Last 30 days"),
  );
  const statusSelect = h(
    "select",
    { id: "anomaly-status" },
    h("option", { value: "open" }, "Open"),
    h("option", { value: "acknowledged" }, "Acknowledged"),
    h("option", { value: "all" }, "All"),
  );
  const list = h("div", { id: "anomaly-state" });
  const element = h(
    "section",
    { id: "usage", class: "card", "aria-labelledby": "usage-panel-title" },
    heading,
    h(
      "section",
      { "aria-labelledby": "org-usage-title" },
      h("h2", { id: "org-usage-title" }, "Requests"),
      h("div", { class: "toolbar" }, h("label", null, "Range", rangeSelect)),
      chart,
    ),
    h(
      "section",
      { "aria-labelledby": "anomalies-title" },
      h("h2", { id: "anomalies-title" }, "Anomalies"),
      h("div", { class: "toolbar" }, h("label", null, "Show", statusSelect)),
      list,
    ),
  );

  // The usage and anomaly answers name their keys (from the ledger, in the same call): no key list is loaded to name them.
  const keyName = (k: Named) => (k.keyLabel === null ? k.keyId : `${k.keyLabel} (${k.keyPrefix ?? ""}…)`);
  const keyLink = (k: Named) => h("a", { href: `#/keys/${k.keyId}`, class: "key-link" }, keyName(k));

  function renderChart(usage: OrgUsage, shown: UsageRange, now: number): void {
    const { span, count, title, per } = USAGE_RANGES[shown];
    const slots = denseSeries([usage.buckets], span, count, now);
    const sum = totals(slots);
    const label = `Requests per ${per} over ${title}: ${sum.admitted} admitted, ${sum.refused} refused`;
    chart.replaceChildren(
      ...present(
        h(
          "p",
          { id: "org-usage-totals" },
          h("span", { class: "swatch swatch-admitted" }),
          `${sum.admitted} admitted `,
          h("span", { class: "swatch swatch-refused" }),
          `${sum.refused} refused`,
          sum.refused ? h("span", { class: "sub" }, `refused: ${codesText(sum.codes)}`) : null,
        ),
        h("div", { class: "chart-box" }, stackedBars(slots, span, label)),
        usage.topKeys.length
          ? h(
              "ol",
              { id: "top-keys", "aria-label": "Busiest keys" },
              ...usage.topKeys.map((t) => h("li", null, keyLink(t), ` · ${t.admitted} admitted, ${t.refused} refused`)),
            )
          : null,
        h("p", { class: "sub" }, "As of each key's last report to the ledger: at most about a minute behind."),
      ),
    );
  }

  function renderAnomalies(flags: AnomalyView[]): void {
    const empty = status === "open" ? "No open anomalies." : status === "acknowledged" ? "No acknowledged anomalies." : "No anomalies recorded.";
    list.replaceChildren(
      flags.length
        ? h(
            "ul",
            { class: "anomalies", id: "anomaly-list" },
            ...flags.map((a) =>
              anomalyItem(a, ctx, {
                keyLink: keyLink(a),
                onAcknowledged: () => {
                  ctx.keysChanged();
                  void load();
                },
              }),
            ),
          )
        : h("p", { class: "muted", id: "no-anomalies" }, empty),
    );
  }

  async function load(): Promise<void> {
    const mine = ++loads;
    list.replaceChildren(loading("anomalies"));
    try {
      const shown = range;
      const now = Date.now();
      const [usage, flags, open] = await Promise.all([
        orgUsage(ctx.api, shown, now),
        anomalies(ctx.api, status),
        status === "open" ? null : anomalies(ctx.api, "open"),
      ]);
      if (mine !== loads) return;
      renderChart(usage, shown, now);
      renderAnomalies(flags);
      setOpenAnomalies(ctx, open ?? flags);
    } catch (error) {
      if (mine !== loads) return;
      list.replaceChildren(h("p", { class: "muted" }, "Anomalies could not be loaded."));
      chart.replaceChildren();
      ctx.notify.problem(error);
    }
  }

  rangeSelect.addEventListener("change", () => {
    range = rangeSelect.value as UsageRange;
    void load();
  });
  statusSelect.addEventListener("change", () => {
    status = statusSelect.value as AnomalyStatus;
    void load();
  });

  return {
    element,
    show() {
      void load();
    },
  };
}

export const usage: PanelFactory = {
  route: /^\/usage$/,
  nav: { label: "Usage", href: "#/usage" },
  available: (me) => me.can.listKeys,
  create: usagePanel,
};
