import type { KeyView } from "../../../admin/api-types";
import { confirmRevoke } from "../dialogs/revoke-dialog";
import { showSecret } from "../dialogs/secret-dialog";
import { h, present, relative, srOnly, when } from "../dom";
import { keyBadges } from "../extensions";
import { countBy, DEFAULT_FILTER, filterKeys, isScheduled, type KeyFilter, pageOf } from "../key-list";
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

/** Settings → API Keys: create, search, filter, page, revoke. */
function keysPanel(ctx: ConsoleContext): Panel {
  let keys: KeyView[] | null = null;
  let filter: KeyFilter = { ...DEFAULT_FILTER };
  let page = 0;
  let size = 25;
  let loads = 0;

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

  const search = h("input", { id: "search", type: "search", placeholder: "label or key prefix", autocomplete: "off", spellcheck: "false" });
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
  const element = h("section", { id: "keys", class: "card", "aria-labelledby": "keys-title" }, heading, createForm, toolbar, state, table, pager);

  const fieldFor = (field: string) => ({ label, environment, scopes, expiresAt: expires, allowedIps: allowedIps.input })[field.split(".")[0] ?? field] ?? null;

  function renderStatusOptions(): void {
    const counts = countBy(keys ?? []);
    const options: [KeyFilter["status"], string][] = [
      ["active", "active"],
      ["scheduled", "revoking (scheduled)"],
      ["disabled", "disabled"],
      ["revoked", "revoked"],
      ["expired", "expired"],
      ["all", "all"],
    ];
    statusSelect.replaceChildren(...options.map(([value, text]) => h("option", { value, selected: value === filter.status }, `${text} (${counts[value]})`)));
  }

  function row(k: KeyView): HTMLTableRowElement {
    const revoke =
      k.status === "active" && ctx.me.can.revokeKeys
        ? h("button", { type: "button", class: "danger", "data-action": "revoke" }, "Revoke", srOnly(` ${k.label}`))
        : null;
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
    renderStatusOptions();
    const shown = pageOf(filterKeys(keys, filter), page, size);
    page = shown.page;
    rows.replaceChildren(...shown.items.map(row));
    const filtered = filter.query !== "" || filter.status !== "all" || filter.environment !== "all";
    state.replaceChildren(
      ...present(
        keys.length === 0
          ? h("p", { id: "empty", class: "muted" }, "No keys yet. Create the first one above.")
          : shown.total === 0
            ? h("p", { id: "no-match", class: "muted" }, "No key matches these filters.")
            : filtered
              ? h("p", { class: "sr-only" }, `${shown.total} of ${keys.length} keys match.`)
              : null,
      ),
    );
    table.hidden = shown.total === 0;
    pager.hidden = shown.total === 0;
    range.textContent = `${shown.from}–${shown.to} of ${shown.total}`;
    prev.disabled = shown.page === 0;
    next.disabled = shown.page >= shown.pages - 1;
  }

  function replaceKey(updated: KeyView): void {
    if (keys === null) return;
    keys = keys.map((k) => (k.id === updated.id ? updated : k));
    render();
  }

  async function load(): Promise<void> {
    const mine = ++loads;
    if (keys === null) state.replaceChildren(loading("keys"));
    state.setAttribute("aria-busy", "true");
    try {
      const listed = await ctx.api.listKeys();
      if (mine !== loads) return;
      keys = listed;
      render();
    } catch (error) {
      if (mine === loads) {
        state.replaceChildren(h("p", { class: "muted" }, "The keys could not be loaded."));
        ctx.notify.problem(error);
      }
    } finally {
      if (mine === loads) state.removeAttribute("aria-busy");
    }
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
    const { key: _secret, ...view } = created;
    keys = keys === null ? [view] : [view, ...keys.filter((k) => k.id !== view.id)];
    render();
    ctx.notify.status(`Created ${created.label}.`);
    showSecret(created, label);
    ctx.keysChanged();
  });

  search.addEventListener("input", () => {
    filter = { ...filter, query: search.value };
    page = 0;
    render();
  });
  statusSelect.addEventListener("change", () => {
    filter = { ...filter, status: statusSelect.value as KeyFilter["status"] };
    page = 0;
    render();
  });
  envSelect.addEventListener("change", () => {
    filter = { ...filter, environment: envSelect.value as KeyFilter["environment"] };
    page = 0;
    render();
  });
  sizeSelect.addEventListener("change", () => {
    size = Number(sizeSelect.value);
    page = 0;
    render();
  });
  prev.addEventListener("click", () => {
    page--;
    render();
    (prev.disabled ? next : prev).focus();
  });
  next.addEventListener("click", () => {
    page++;
    render();
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
