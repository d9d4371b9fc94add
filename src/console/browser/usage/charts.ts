import { codesText, type Slot } from "./series";

// Charts as inline SVG built node by node: no markup strings, no style attributes
// (the console's CSP has no 'unsafe-inline'); colours come from classes in page.css.

const SVG = "http://www.w3.org/2000/svg";

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>, ...children: (Node | string)[]): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, String(value));
  el.append(...children);
  return el;
}

const hourLabel = (t: number) => new Date(t).toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });

const DAY_MS = 24 * 60 * 60 * 1000;
/** A slot's start as an axis label: the hour for hourly slots, the UTC day (as the ledger's day buckets are) for daily ones. */
const slotLabel = (t: number, spanMs: number) =>
  spanMs >= DAY_MS ? new Date(t).toLocaleDateString(undefined, { day: "numeric", month: "short", timeZone: "UTC" }) : hourLabel(t);

/** What one slot holds, in words (a tooltip and the accessible description). */
export const slotText = (s: Slot, spanMs: number) =>
  `${spanMs >= DAY_MS ? `${slotLabel(s.start, spanMs)} (UTC day)` : `${hourLabel(s.start)}–${hourLabel(s.start + spanMs)}`}: ${s.admitted} admitted, ${s.refused} refused${s.refused ? ` (${codesText(s.codes)})` : ""}`;

/**
 * A small sparkline: admitted (line) and refused (line) per slot, scaled to the
 * larger of the two. Labelled as an image whose name carries the totals.
 */
export function sparkline(slots: readonly Slot[], label: string, width = 240, height = 40): SVGSVGElement {
  const max = Math.max(1, ...slots.map((s) => Math.max(s.admitted, s.refused)));
  const step = slots.length > 1 ? width / (slots.length - 1) : width;
  const y = (v: number) => (height - 2 - (v / max) * (height - 4)).toFixed(1);
  const points = (pick: (s: Slot) => number) => slots.map((s, i) => `${(i * step).toFixed(1)},${y(pick(s))}`).join(" ");
  return svg(
    "svg",
    { class: "spark", viewBox: `0 0 ${width} ${height}`, width, height, role: "img", "aria-label": label, preserveAspectRatio: "none" },
    svg("title", {}, label),
    svg("line", { class: "spark-base", x1: 0, x2: width, y1: height - 2, y2: height - 2 }),
    svg("polyline", { class: "spark-admitted", fill: "none", points: points((s) => s.admitted) }),
    svg("polyline", { class: "spark-refused", fill: "none", points: points((s) => s.refused) }),
  );
}

/**
 * A bar chart of admitted (bottom) and refused (stacked on top) per slot, with the
 * peak on the y axis and times along the x axis; each bar's tooltip names its counts.
 * The bars are an SVG stretched to the container's width; the axis labels are
 * HTML text beside and below it, so they stay at the page's font size at any width
 * (text inside a scaled SVG shrank to a few pixels on a phone).
 */
export function stackedBars(slots: readonly Slot[], spanMs: number, label: string): HTMLElement {
  const width = 720;
  const height = 160;
  const max = Math.max(1, ...slots.map((s) => s.admitted + s.refused));
  const slotW = width / Math.max(1, slots.length);
  const barW = Math.max(1, slotW - 2);
  const y = (v: number) => (v / max) * height;
  const bars = slots.map((s, i) => {
    const x = i * slotW + 1;
    const ha = y(s.admitted);
    const hr = y(s.refused);
    return svg(
      "g",
      { class: "bar" },
      svg("title", {}, slotText(s, spanMs)),
      svg("rect", { class: "bar-admitted", x: x.toFixed(1), y: (height - ha).toFixed(1), width: barW.toFixed(1), height: ha.toFixed(1) }),
      svg("rect", { class: "bar-refused", x: x.toFixed(1), y: (height - ha - hr).toFixed(1), width: barW.toFixed(1), height: hr.toFixed(1) }),
    );
  });
  const ticks = [0, Math.floor(slots.length / 2), slots.length - 1].filter((i, n, all) => i >= 0 && all.indexOf(i) === n);
  const text = (tag: "span", cls: string, content: string) => {
    const el = document.createElement(tag);
    el.className = cls;
    el.textContent = content;
    return el;
  };
  const plot = svg(
    "svg",
    { class: "chart", viewBox: `0 0 ${width} ${height}`, preserveAspectRatio: "none", role: "img", "aria-label": label },
    svg("title", {}, label),
    svg("line", { class: "grid-line", x1: 0, x2: width, y1: 0.5, y2: 0.5 }),
    svg("line", { class: "axis-line", x1: 0, x2: width, y1: height - 0.5, y2: height - 0.5 }),
    ...bars,
  );
  const yAxis = document.createElement("div");
  yAxis.className = "y-axis";
  yAxis.setAttribute("aria-hidden", "true");
  yAxis.append(text("span", "axis", String(max)), text("span", "axis", "0"));
  const xAxis = document.createElement("div");
  xAxis.className = "x-axis";
  xAxis.setAttribute("aria-hidden", "true");
  xAxis.append(...ticks.map((i) => text("span", "axis", slotLabel((slots[i] as Slot).start, spanMs))));
  const row = document.createElement("div");
  row.className = "chart-plot";
  row.append(yAxis, plot);
  const figure = document.createElement("div");
  figure.className = "chart-figure";
  figure.append(row, xAxis);
  return figure;
}
