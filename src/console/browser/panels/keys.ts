import type { KeyView } from "../../../admin/api-types";
import { confirmRevoke } from "../dialogs/revoke-dialog";
import { showSecret } from "../dialogs/secret-dialog";
import { h, present, relative, srOnly, when } from "../dom";
import { keyBadges } from "../extensions";
import { DEFAULT_FILTER, isScheduled, type KeyFilter, keepsStatus, Pages, pageQuery, revocable } from "../key-list";
import { loading, run } from "../notify";
import type { ConsoleContext, Panel, PanelFactory } from "../panel";
import { allowedIpsField } from "./leaks";

const PAGE_SIZES = [10, 25, 50, 100];

/** The status badge of a key, with its scheduled revocation when there is one. */
export function statusBadge(k: KeyView): HTMLElement {
  const scheduled = isScheduled(k) && k.revokeAt !== null;
  return h(
    "span",
    null,
    h("span", { class: `status status-${scheduled ? "scheduled" : k.status}` }, scheduled ? "active, revoking" : k.status),
    scheduled && k.revokeAt !== null ? h("span", { class: "sub" }, `revokes ${relative(k.revokeAt)}`) : null,
    ...keyBadges.map((badge) => badge(k)),
  );
}

/** How long typing may pause before the search goes to the server. */
const SEARCH_DELAY_MS = 300;

/**
 * Settings → API Keys: create, search, filter, page, revoke. The server pages:
 * search and filters are query parameters, Next follows the page's cursor, and
 * Previous goes back through the cursors already followed. Only the page shown
 * is ever loaded.
 */
function keysPanel(ctx: ConsoleContext): Panel {
  /** The page shown; null until the first answer. */
  let keys: KeyView[] | null = null;
  let filter: KeyFilter = { ...DEFAULT_FILTER };
  let size = 25;
  const pages = new Pages();
  let loads = 0;
  let searchTimer: ReturnType<typeof setTimeout> | undefined;
  /** The org has no key at all (not only none that matches). */
  let orgEmpty = false;

  const heading = h("h1", { id: "keys-title", tabindex: "-1", "data-focus": true }, "API Keys ", h("span", { id: "org-name", class: "muted" }, ctx.org));
  const label = h("input", { id: "label", name: "label", required: true, maxlength: 100, placeholder: "e.g. billing worker", autocomplete: "off" });
  const environment = h("select", { id: "environment", name: "environment" }, h("option", { value: "live" }, "live"), h("option", { value: "test" }, "test"));
  const scopes = h("input", { id: "scopes", name: "scopes", placeholder: "e.g. orders:read orders:write", autocomplete: "off", spellcheck: "false" });
  const expires = h("input", { id: "expires", name: "expiresAt", type: "datetime-local" });
  const allowedIps = allowedIpsField();
  const createButton = h("button", { id: "create-submit", type: "submit" }, "Create key");
  const createForm = h(
    "form",
    { id: "create-form", "aria-label": "Create a key" },
    h(
      "div",
      { class: "row" },
      h("label", { class: "grow" }, "Label", label),
      h("label", null, "Environment", environment),
      h("div", { class: "create-action" }, createButton),
    ),
    h(
      "details",
      null,
      h("summary", null, "More options (scopes, expiry, allowed IPs)"),
      h(
        "div",
        { class: "row" },
        h("label", { class: "grow" }, "Scopes (space-separated; empty: everything the org may do)", scopes),
        h("label", null, "Expires (your local time)", expires),
      ),
      h("div", { class: "row" }, allowedIps.label),
    ),
  );

  const search = h("input", { id: "search", type: "search", placeholder: "label, key prefix or id", autocomplete: "off", spellcheck: "false" });
  const statusSelect = h("select", { id: "filter-status" });
  const envSelect = h(
    "select",
    { id: "filter-env" },
    h("option", { value: "all" }, "all"),
    h("option", { value: "live" }, "live"),
    h("option", { value: "test" }, "test"),
  );
  const sizeSelect = h("select", { id: "page-size" }, ...PAGE_SIZES.map((n) => h("option", { value: n, selected: n === size }, String(n))));
  const toolbar = h(
    "div",
    { class: "toolbar", role: "search" },
    h("label", { class: "grow" }, "Search", search),
    h("label", null, "Status", statusSelect),
    h("label", null, "Environment", envSelect),
    h("label", null, "Per page", sizeSelect),
  );
  const state = h("div", { id: "list-state" });
  const rows = h("tbody", { id: "key-rows" });
  const table = h(
    "table",
    { id: "key-table", class: "stack" },
    h(
      "thead",
      null,
      h(
        "tr",
        null,
        h("th", { class: "col-label", scope: "col" }, "Label"),
        h("th", { class: "col-key", scope: "col" }, "Key"),
        h("th", { class: "col-env", scope: "col" }, "Env"),
        h("th", { class: "col-status", scope: "col" }, "Status"),
        h("th", { class: "col-time", scope: "col" }, "Created"),
        h("th", { class: "col-time", scope: "col" }, "Last used"),
        h("th", { class: "col-actions", scope: "col" }, h("span", { class: "sr-only" }, "Actions")),
      ),
    ),
    rows,
  );
  const range = h("span", { id: "page-range" });
  const prev = h("button", { id: "page-prev", type: "button", class: "secondary" }, "Previous", srOnly(" page"));
  const next = h("button", { id: "page-next", type: "button", class: "secondary" }, "Next", srOnly(" page"));
  const pager = h("nav", { class: "pager", "aria-label": "Pages of keys" }, range, h("div", { class: "buttons" }, prev, next));
  // Members read the org's keys and usage; the server refuses them every change, and the page offers none.
  const readOnly = ctx.me.can.revokeKeys
    ? null
    : h(
        "p",
        { id: "read-only", class: "notice" },
        `Read-only: as ${ctx.me.role ?? "a user"} of ${ctx.org} you see its keys and usage. Creating, revoking and changing keys is for its admins.`,
      );
  const element = h(
    "section",
    { id: "keys", class: "card", "aria-labelledby": "keys-title" },
    ...present(heading, readOnly, createForm, toolbar, state, table, pager),
  );

  const fieldFor = (field: string) => ({ label, environment, scopes, expiresAt: expires, allowedIps: allowedIps.input })[field.split(".")[0] ?? field] ?? null;

  const STATUS_OPTIONS: [KeyFilter["status"], string][] = [
    ["active", "active"],
    ["revoking", "revoking (scheduled)"],
    ["disabled", "disabled"],
    ["revoked", "revoked"],
    ["expired", "expired"],
    ["all", "all"],
  ];
  statusSelect.replaceChildren(...STATUS_OPTIONS.map(([value, text]) => h("option", { value, selected: value === filter.status }, text)));

  function row(k: KeyView): HTMLTableRowElement {
    const revoke =
      revocable(k) && ctx.me.can.revokeKeys ? h("button", { type: "button", class: "danger", "data-action": "revoke" }, "Revoke", srOnly(` ${k.label}`)) : null;
    revoke?.addEventListener("click", () =>
      confirmRevoke(k, {
        api: ctx.api,
        returnFocus: () => rows.querySelector<HTMLElement>(`tr[data-key-id="${k.id}"] button`) ?? search,
        onRevoked: (updated, scheduled) => {
          ctx.notify.status(scheduled ? `${k.label} will be revoked ${when(updated.revokeAt)}.` : `${k.label} is revoked.`);
          replaceKey(updated);
          ctx.keysChanged();
        },
      }),
    );
    return h(
      "tr",
      { "data-key-id": k.id },
      h("td", { class: "label-cell", "data-label": "Label" }, h("a", { href: `#/keys/${k.id}` }, k.label)),
      h("td", { "data-label": "Key" }, h("code", { class: "mono prefix" }, `${k.prefix}…`)),
      h("td", { "data-label": "Env" }, k.environment),
      h("td", { "data-label": "Status" }, statusBadge(k)),
      h("td", { "data-label": "Created" }, when(k.createdAt)),
      h("td", { "data-label": "Last used" }, when(k.lastUsedAt)),
      h("td", null, revoke),
    );
  }

  function render(): void {
    if (keys === null) return;
    rows.replaceChildren(...keys.map(row));
    const filtered = filter.query.trim() !== "" || filter.status !== "all" || filter.environment !== "all";
    const first = pages.index === 0;
    state.replaceChildren(
      ...present(
        keys.length === 0 && first && orgEmpty
          ? h("p", { id: "empty", class: "muted" }, "No keys yet. Create the first one above.")
          : keys.length === 0
            ? h("p", { id: "no-match", class: "muted" }, first ? "No key matches these filters." : "No more keys on this page.")
            : filtered
              ? h("p", { class: "sr-only" }, `${keys.length} matching keys on this page.`)
              : null,
      ),
    );
    table.hidden = keys.length === 0;
    pager.hidden = keys.length === 0 && first;
    const from = pages.index * size + 1;
    range.textContent = keys.length === 0 ? "" : `${from}–${from + keys.length - 1}`;
    prev.disabled = first;
    next.disabled = pages.next === null;
  }

  function replaceKey(updated: KeyView): void {
    if (keys === null) return;
    keys = keys.flatMap((k) => (k.id !== updated.id ? [k] : keepsStatus(updated, filter) ? [updated] : []));
    render();
  }

  /** Loads the page at the current cursor; an older load that answers late is ignored. */
  async function load(): Promise<void> {
    const mine = ++loads;
    if (keys === null) state.replaceChildren(loading("keys"));
    state.setAttribute("aria-busy", "true");
    prev.disabled = true;
    next.disabled = true;
    try {
      const query = pageQuery(filter, size, pages.cursor);
      const page = await ctx.api.listKeyPage(query);
      // An empty first page under a filter: one key of any kind (limit=1) tells "no keys yet" from "none match".
      const unfiltered = query.q === null && query.status === null && query.environment === null;
      const empty =
        page.keys.length === 0 &&
        query.cursor === null &&
        (unfiltered || (await ctx.api.listKeyPage({ limit: 1, q: null, status: null, environment: null, cursor: null })).keys.length === 0);
      if (mine !== loads) return;
      orgEmpty = empty;
      keys = page.keys;
      pages.arrived(page.nextCursor);
      render();
    } catch (error) {
      if (mine === loads) {
        state.replaceChildren(h("p", { class: "muted" }, "The keys could not be loaded."));
        ctx.notify.problem(error);
        render();
      }
    } finally {
      if (mine === loads) state.removeAttribute("aria-busy");
    }
  }

  /** Search, filters or page size changed: back to the first page, a cursor of the old listing is not one of the new. */
  function restart(): void {
    clearTimeout(searchTimer);
    pages.reset();
    void load();
  }

  createForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    for (const input of [label, scopes, expires, allowedIps.input]) input.removeAttribute("aria-invalid");
    const words = scopes.value.split(/\s+/).filter(Boolean);
    const created = await run(
      ctx.notify,
      createButton,
      "Creating…",
      () =>
        ctx.api.createKey({
          label: label.value,
          environment: environment.value === "test" ? "test" : "live",
          ...(words.length ? { scopes: words } : {}),
          ...(expires.value ? { expiresAt: new Date(expires.value).toISOString() } : {}),
          ...(allowedIps.value() ? { allowedIps: allowedIps.value() } : {}),
        }),
      fieldFor,
    );
    if (created === undefined) return;
    createForm.reset();
    // The newest key heads the first page: show that page again (one request).
    restart();
    ctx.notify.status(`Created ${created.label}.`);
    showSecret(created, label);
    ctx.keysChanged();
  });

  search.addEventListener("input", () => {
    filter = { ...filter, query: search.value };
    clearTimeout(searchTimer);
    searchTimer = setTimeout(restart, SEARCH_DELAY_MS);
  });
  // Enter, or the field's clear button: search now.
  search.addEventListener("search", () => {
    filter = { ...filter, query: search.value };
    restart();
  });
  statusSelect.addEventListener("change", () => {
    filter = { ...filter, status: statusSelect.value as KeyFilter["status"] };
    restart();
  });
  envSelect.addEventListener("change", () => {
    filter = { ...filter, environment: envSelect.value as KeyFilter["environment"] };
    restart();
  });
  sizeSelect.addEventListener("change", () => {
    size = Number(sizeSelect.value);
    restart();
  });
  prev.addEventListener("click", async () => {
    if (!pages.back()) return;
    await load();
    (prev.disabled ? next : prev).focus();
  });
  next.addEventListener("click", async () => {
    if (!pages.forward()) return;
    await load();
    (next.disabled ? prev : next).focus();
  });

  if (!ctx.me.can.createKeys) createForm.hidden = true;
  return {
    element,
    show() {
      void load();
    },
    keysChanged() {
      keys = null;
    },
  };
}

export const keys: PanelFactory = {
  route: /^\/keys$/,
  nav: { label: "Keys", href: "#/keys" },
  available: (me) => me.can.listKeys,
  create: keysPanel,
};
