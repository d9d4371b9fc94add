import type { AnomalyView, KeyUsage, KeyView } from "../../../admin/api-types";
import { h, relative, when } from "../dom";
import { keyDetailSections } from "../extensions";
import { loading, run } from "../notify";
import type { ConsoleContext } from "../panel";
import { setOpenAnomalies } from "../usage/anomaly-badges";
import { anomalyItem } from "../usage/anomaly-items";
import { sparkline } from "../usage/charts";
import { codesText, denseSeries, HOUR_MS, MINUTE_MS, totals } from "../usage/series";
import { anomalies, keyUsage } from "../usage/usage-api";

/** Countries, networks (ASNs) and data centres a key was used from, in words. */
function whereText(u: KeyUsage): Node {
  const { countries, asns, colos } = u.locations;
  if (!countries.length && !asns.length && !colos.length) return document.createTextNode("not recorded yet");
  const part = (name: string, values: string[]) =>
    values.length ? h("span", { class: "where-part" }, `${name}: `, h("code", { class: "mono" }, values.join(", "))) : null;
  return h(
    "span",
    { id: "usage-where" },
    part("countries", countries),
    part(
      "networks",
      asns.map((a) => (/^\d+$/.test(a) ? `AS${a}` : a)),
    ),
    part("data centres", colos),
  );
}

/**
 * The key detail's usage section: last use and where from, 24 hours as a
 * sparkline (hour rows from the ledger merged with the guard's fresh minute rows),
 * and the key's open anomalies with their sentence. Three admin calls: minute
 * usage (one guard call), hour usage and open anomalies (ledger).
 */
function usageSection(k: KeyView, ctx: ConsoleContext): Node {
  const body = h("div", { id: "usage-body" }, loading("usage"));
  const flags = h("div", { id: "key-anomalies" });
  const refresh = h("button", { id: "usage-refresh", type: "button", class: "secondary" }, "Refresh usage");

  function renderFlags(list: AnomalyView[], reload: () => void): void {
    const mine = list.filter((a) => a.keyId === k.id && a.acknowledgedAt === null);
    flags.replaceChildren(
      mine.length
        ? h("ul", { class: "anomalies", id: "key-anomaly-list" }, ...mine.map((a) => anomalyItem(a, ctx, { onAcknowledged: reload })))
        : h("p", { class: "muted", id: "no-key-anomalies" }, "No open anomalies for this key."),
    );
  }

  async function load(): Promise<void> {
    const [minute, hour, open] = await Promise.all([keyUsage(ctx.api, k.id, "minute"), keyUsage(ctx.api, k.id, "hour"), anomalies(ctx.api, "open")]);
    const now = Date.now();
    const day = denseSeries([hour.buckets, minute.buckets], HOUR_MS, 24, now);
    const lastHour = totals(denseSeries([minute.buckets], MINUTE_MS, 60, now));
    const dayTotals = totals(day);
    const lastUsed = minute.lastUsedAt ?? hour.lastUsedAt;
    const label = `Last 24 hours, per hour: ${dayTotals.admitted} admitted, ${dayTotals.refused} refused`;
    body.replaceChildren(
      h(
        "dl",
        { class: "facts", id: "usage-facts" },
        h("dt", null, "Last used"),
        h("dd", { id: "usage-last-used" }, lastUsed === null ? "never" : `${when(lastUsed)} (${relative(lastUsed)})`),
        h("dt", null, "Where from"),
        h("dd", null, whereText(minute)),
        h("dt", null, "Last 24 hours"),
        h(
          "dd",
          { id: "usage-24h" },
          sparkline(day, label),
          h(
            "span",
            { class: "spark-legend" },
            h("span", { class: "swatch swatch-admitted" }),
            `${dayTotals.admitted} admitted `,
            h("span", { class: "swatch swatch-refused" }),
            `${dayTotals.refused} refused`,
          ),
          dayTotals.refused ? h("span", { class: "sub" }, `refused: ${codesText(dayTotals.codes)}`) : null,
        ),
        h("dt", null, "Last 60 minutes"),
        h("dd", { id: "usage-hour" }, `${lastHour.admitted} admitted, ${lastHour.refused} refused${lastHour.refused ? ` (${codesText(lastHour.codes)})` : ""}`),
      ),
      h(
        "p",
        { class: "sub" },
        `The last 60 minutes are live from the key's guard; earlier hours are as of its last report${hour.reportedAt ? ` (${when(hour.reportedAt)})` : " (none yet)"}, about a minute behind.`,
      ),
    );
    renderFlags(open, () => void reloadAll());
    setOpenAnomalies(ctx, open);
  }

  async function reloadAll(): Promise<void> {
    await run(ctx.notify, refresh, "Refreshing…", load);
  }

  refresh.addEventListener("click", () => void reloadAll());
  load().catch((error) => {
    body.replaceChildren(h("p", { class: "muted" }, "Usage could not be loaded."));
    ctx.notify.problem(error);
  });
  return h(
    "section",
    { id: "key-usage", "aria-labelledby": "usage-title" },
    h("h2", { id: "usage-title" }, "Usage"),
    flags,
    body,
    h("div", { class: "actions" }, refresh, h("a", { href: "#/usage" }, "All anomalies and org usage")),
  );
}

keyDetailSections.push(usageSection);
