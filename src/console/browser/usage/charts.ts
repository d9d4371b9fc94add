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

/** What one slot holds, in words (a tooltip and the accessible description). */
export const slotText = (s: Slot, spanMs: number) =>
  `${hourLabel(s.start)}–${hourLabel(s.start + spanMs)}: ${s.admitted} admitted, ${s.refused} refused${s.refused ? ` (${codesText(s.codes)})` : ""}`;

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
 * It scales to its container's width (viewBox).
 */
export function stackedBars(slots: readonly Slot[], spanMs: number, label: string): SVGSVGElement {
  const width = 720;
  const height = 200;
  const left = 40;
  const bottom = 22;
  const top = 8;
  const plotH = height - bottom - top;
  const max = Math.max(1, ...slots.map((s) => s.admitted + s.refused));
  const slotW = (width - left) / Math.max(1, slots.length);
  const barW = Math.max(1, slotW - 2);
  const h = (v: number) => (v / max) * plotH;
  const bars = slots.map((s, i) => {
    const x = left + i * slotW + 1;
    const ha = h(s.admitted);
    const hr = h(s.refused);
    return svg(
      "g",
      { class: "bar" },
      svg("title", {}, slotText(s, spanMs)),
      svg("rect", { class: "bar-admitted", x: x.toFixed(1), y: (top + plotH - ha).toFixed(1), width: barW.toFixed(1), height: ha.toFixed(1) }),
      svg("rect", { class: "bar-refused", x: x.toFixed(1), y: (top + plotH - ha - hr).toFixed(1), width: barW.toFixed(1), height: hr.toFixed(1) }),
    );
  });
  const ticks = [0, Math.floor(slots.length / 2), slots.length - 1]
    .filter((i, n, all) => i >= 0 && all.indexOf(i) === n)
    .map((i) => {
      const s = slots[i] as Slot;
      // The first and last labels are anchored inward so they are not cut at the edges.
      const anchor = i === 0 ? "start" : i === slots.length - 1 ? "end" : "middle";
      const x = i === 0 ? left : i === slots.length - 1 ? width : left + i * slotW + slotW / 2;
      return svg("text", { class: "axis", x: x.toFixed(1), y: height - 6, "text-anchor": anchor }, hourLabel(s.start));
    });
  return svg(
    "svg",
    { class: "chart", viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": label },
    svg("title", {}, label),
    svg("line", { class: "axis-line", x1: left, x2: width, y1: top + plotH, y2: top + plotH }),
    svg("line", { class: "grid-line", x1: left, x2: width, y1: top, y2: top }),
    svg("text", { class: "axis", x: left - 6, y: top + 4, "text-anchor": "end" }, String(max)),
    svg("text", { class: "axis", x: left - 6, y: top + plotH, "text-anchor": "end" }, "0"),
    ...bars,
    ...ticks,
  );
}
