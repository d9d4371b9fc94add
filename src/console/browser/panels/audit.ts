import type { AuditEvent } from "../../../admin/api-types";
import type { AuditQuery } from "../api";
import { ACTION_NAMES, actionName, actorName, describe } from "../audit-text";
import { h, srOnly, when } from "../dom";
import { pageOf } from "../key-list";
import { loading } from "../notify";
import type { ConsoleContext, Panel, PanelFactory } from "../panel";

const PAGE_SIZE = 25;
/** The key id of an org-wide entry. */
const ORG_WIDE = "*";

/**
 * Who created, revoked or changed what, when: filtered by key and action (by the
 * server, so an entry older than any page loaded is still found), in sentences,
 * paged 25 at a time; "Next" past the entries loaded loads the next page.
 */
function auditPanel(ctx: ConsoleContext): Panel {
  let events: AuditEvent[] | null = null;
  /** The cursor of the next server page for the loaded filters; null: all loaded. */
  let nextCursor: string | null = null;
  // Key names from the events themselves (the API names each event's key): no key list is loaded.
  const names = new Map<string, { label: string; prefix: string }>();
  let keyFilter = "";
  let actionFilter = "";
  let page = 0;
  let loads = 0;

  const heading = h("h1", { id: "audit-title", tabindex: "-1", "data-focus": true }, "Audit log");
  const keySelect = h("select", { id: "audit-key" });
  const actionSelect = h("select", { id: "audit-action" });
  const state = h("div", { id: "audit-state" });
  const rows = h("tbody", { id: "audit-rows" });
  const table = h(
    "table",
    { id: "audit-table", class: "stack" },
    h(
      "thead",
      null,
      h(
        "tr",
        null,
        h("th", { class: "col-time", scope: "col" }, "When"),
        h("th", { class: "col-env", scope: "col" }, "Who"),
        h("th", { class: "col-label", scope: "col" }, "What"),
        h("th", { class: "col-key", scope: "col" }, "Key"),
        h("th", { class: "col-key", scope: "col" }, "Request id"),
      ),
    ),
    rows,
  );
  const range = h("span", { id: "audit-range" });
  const prev = h("button", { id: "audit-prev", type: "button", class: "secondary" }, "Previous", srOnly(" page"));
  const next = h("button", { id: "audit-next", type: "button", class: "secondary" }, "Next", srOnly(" page"));
  const pager = h("nav", { class: "pager", "aria-label": "Pages of the audit log" }, range, h("div", { class: "buttons" }, prev, next));
  const element = h(
    "section",
    { id: "audit", class: "card", "aria-labelledby": "audit-title" },
    heading,
    h("div", { class: "toolbar", role: "search" }, h("label", { class: "grow" }, "Key", keySelect), h("label", null, "Action", actionSelect)),
    state,
    table,
    pager,
  );

  const keyName = (id: string) => {
    if (id === ORG_WIDE) return "whole organisation";
    const k = names.get(id);
    return k ? `${k.label} (${k.prefix}…)` : id;
  };

  function renderFilters(): void {
    const all = events ?? [];
    const ids = [...new Set([...(keyFilter ? [keyFilter] : []), ...all.map((e) => e.keyId)])].sort((a, b) => keyName(a).localeCompare(keyName(b)));
    keySelect.replaceChildren(h("option", { value: "" }, "all keys"), ...ids.map((id) => h("option", { value: id, selected: id === keyFilter }, keyName(id))));
    const actions = [...new Set([...Object.keys(ACTION_NAMES), ...all.map((e) => e.action)])];
    actionSelect.replaceChildren(
      h("option", { value: "" }, "all actions"),
      ...actions.map((a) => h("option", { value: a, selected: a === actionFilter }, actionName(a))),
    );
  }

  function render(): void {
    if (events === null) return;
    renderFilters();
    const shown = pageOf(
      events.filter((e) => (keyFilter === "" || e.keyId === keyFilter) && (actionFilter === "" || e.action === actionFilter)),
      page,
      PAGE_SIZE,
    );
    page = shown.page;
    rows.replaceChildren(
      ...shown.items.map((e) =>
        h(
          "tr",
          { "data-action": e.action },
          h("td", { "data-label": "When" }, when(e.at)),
          h("td", { "data-label": "Who" }, actorName(e.actor)),
          h("td", { "data-label": "What" }, describe(e)),
          h(
            "td",
            { "data-label": "Key" },
            // `*`: an org-wide change (org limit, org credits, webhook), of no one key.
            ...(e.keyId === ORG_WIDE
              ? ["whole organisation"]
              : [h("a", { href: `#/keys/${e.keyId}` }, e.keyLabel ?? "key"), " ", h("code", { class: "mono sub" }, e.keyId)]),
          ),
          h("td", { "data-label": "Request" }, h("code", { class: "mono" }, e.requestId)),
        ),
      ),
    );
    state.replaceChildren(
      shown.total === 0
        ? h(
            "p",
            { id: "audit-empty", class: "muted" },
            events.length || keyFilter || actionFilter ? "No event matches these filters." : "Nothing recorded yet.",
          )
        : "",
    );
    table.hidden = shown.total === 0;
    pager.hidden = shown.total === 0;
    range.textContent = `${shown.from}–${shown.to} of ${shown.total}${nextCursor === null ? "" : "+"}`;
    prev.disabled = shown.page === 0;
    next.disabled = shown.page >= shown.pages - 1 && nextCursor === null;
  }

  /** Loads the first page for the filters, or (`more`) the next page after those loaded. */
  async function load(more = false): Promise<void> {
    const mine = ++loads;
    if (events === null) state.replaceChildren(loading("the audit log"));
    try {
      const audit = await ctx.api.audit({ key: keyFilter, action: actionFilter as AuditQuery["action"], cursor: more ? nextCursor : null });
      if (mine !== loads) return;
      events = more ? [...(events ?? []), ...audit.events] : audit.events;
      nextCursor = audit.nextCursor;
      for (const e of audit.events) if (e.keyLabel !== null) names.set(e.keyId, { label: e.keyLabel, prefix: e.keyPrefix ?? "" });
      if (more) page++;
      render();
    } catch (error) {
      if (mine !== loads) return;
      state.replaceChildren(h("p", { class: "muted" }, "The audit log could not be loaded."));
      ctx.notify.problem(error);
    }
  }

  /** Filters live in the address (#/audit?key=…&action=…), so they can be linked and go back. */
  const navigate = () => {
    const query = new URLSearchParams();
    if (keyFilter) query.set("key", keyFilter);
    if (actionFilter) query.set("action", actionFilter);
    const q = query.toString();
    history.replaceState(null, "", `#/audit${q ? `?${q}` : ""}`);
  };
  // A changed filter shows what is loaded at once (filtered here), then the server's answer.
  keySelect.addEventListener("change", () => {
    keyFilter = keySelect.value;
    page = 0;
    navigate();
    render();
    void load();
  });
  actionSelect.addEventListener("change", () => {
    actionFilter = actionSelect.value;
    page = 0;
    navigate();
    render();
    void load();
  });
  prev.addEventListener("click", () => {
    page--;
    render();
  });
  next.addEventListener("click", () => {
    const loaded = events?.length ?? 0;
    if ((page + 1) * PAGE_SIZE < loaded || nextCursor === null) {
      page++;
      render();
    } else void load(true);
  });

  return {
    element,
    show(_match, query) {
      keyFilter = query.get("key") ?? "";
      actionFilter = query.get("action") ?? "";
      page = 0;
      render();
      void load();
    },
  };
}

export const audit: PanelFactory = {
  route: /^\/audit$/,
  nav: { label: "Audit log", href: "#/audit" },
  available: (me) => me.can.readAudit,
  create: auditPanel,
};
