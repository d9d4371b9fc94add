/** Small DOM helpers: elements are built with text nodes only (never innerHTML), so labels cannot inject markup. */

type Child = Node | string | null | undefined | false;
type AttrValue = string | number | boolean | null | undefined;
type Attrs = Record<string, AttrValue | ((event: Event) => void)>;

/** Creates an element; `on…` attributes become listeners, `true` a bare attribute, false/null/undefined nothing. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs | null = null, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (typeof value === "function") el.addEventListener(name.slice(2), value);
    else if (value === true) el.setAttribute(name, "");
    else if (value !== false && value !== null && value !== undefined) el.setAttribute(name, String(value));
  }
  el.append(...present(...children));
  return el;
}

/** Children without the empty ones, for `replaceChildren(...present(a, b))`. */
export const present = (...children: Child[]): (Node | string)[] => children.filter((c): c is Node | string => c !== null && c !== undefined && c !== false);

/** An element of the static page, of the expected type (a missing one is a bug in page.html). */
export function byId<T extends HTMLElement>(id: string, type: { new (): T; prototype: T }): T {
  const el = document.getElementById(id);
  if (!(el instanceof type)) throw new Error(`page.html has no <${type.name}> #${id}`);
  return el;
}

/** Text for screen readers only (e.g. a button's key name after its visible verb). */
export const srOnly = (text: string) => h("span", { class: "sr-only" }, text);

/** A date for people: local date and time, or the fallback. */
export function when(iso: string | null, fallback = "never"): string {
  return iso === null ? fallback : new Date(iso).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

/** "in 3 h 5 min" / "2 d ago": a duration relative to now. */
export function relative(iso: string, now = Date.now()): string {
  const ms = Date.parse(iso) - now;
  const abs = Math.abs(ms);
  const minutes = Math.round(abs / 60_000);
  const text =
    minutes < 1
      ? "less than a minute"
      : minutes < 60
        ? `${minutes} min`
        : minutes < 48 * 60
          ? `${Math.floor(minutes / 60)} h${minutes % 60 ? ` ${minutes % 60} min` : ""}`
          : `${Math.round(minutes / 1440)} d`;
  return ms >= 0 ? `in ${text}` : `${text} ago`;
}
