import { deleteOrgLimitRoute, getOrgLimitRoute, putOrgLimitRoute } from "../../../admin/route-refs.js";
import { ApiError } from "../api";
import { h } from "../dom";
import { loading, run } from "../notify";
import type { ConsoleContext, Panel, PanelFactory } from "../panel";

/** "100 requests per 60 s, shared by every key": the org's limit in words. */
export const orgLimitText = (l: { limit: number; windowSeconds: number }) =>
  `${l.limit.toLocaleString("en-US")} requests per ${l.windowSeconds} s, shared by every key of the organisation (on top of each key's own limit)`;

/**
 * The org's shared rate limit (PUT/GET/DELETE …/rate-limit), for the operator:
 * one sliding window every key of the org counts against, pushed to every key's
 * guard before the call returns. A grant, so only the operator's console has it.
 */
function orgLimitPanel(ctx: ConsoleContext): Panel {
  let loads = 0;
  const heading = h("h1", { id: "org-limit-title", tabindex: "-1", "data-focus": true }, "Org limit");
  const current = h("div", { id: "org-limit-current" });
  const limit = h("input", { id: "org-limit-limit", type: "number", min: "0", step: "1", required: true });
  const windowSeconds = h("input", { id: "org-limit-window", type: "number", min: "1", max: "86400", step: "1", value: "60", required: true });
  const save = h("button", { id: "org-limit-save", type: "submit" }, "Set org limit");
  const form = h(
    "form",
    { id: "org-limit-form", "aria-label": "Org limit", novalidate: true },
    h("div", { class: "row" }, h("label", null, "Requests", limit), h("label", null, "Per (seconds, 1-86400)", windowSeconds)),
    h("div", { class: "actions" }, save),
  );
  const element = h(
    "section",
    { id: "org-limit", class: "card", "aria-labelledby": "org-limit-title" },
    heading,
    h(
      "p",
      { class: "muted" },
      "One window every key of ",
      h("strong", null, ctx.org),
      " counts against; 429 RATE_LIMITED past it. Keys keep their own limits too.",
    ),
    current,
    form,
  );

  function render(set: { limit: number; windowSeconds: number } | null): void {
    if (set === null) {
      current.replaceChildren(h("p", { id: "org-limit-none", class: "muted" }, "No org limit: each key has only its own."));
      return;
    }
    const clear = h("button", { id: "org-limit-clear", type: "button", class: "danger" }, "Remove org limit");
    clear.addEventListener("click", async () => {
      const done = await run(ctx.notify, clear, "Removing…", () => ctx.api.call(deleteOrgLimitRoute));
      if (done === undefined) return;
      ctx.notify.status(`The org limit is removed (${done.keys} keys told).`);
      render(null);
    });
    current.replaceChildren(h("p", { id: "org-limit-state" }, orgLimitText(set)), h("div", { class: "actions" }, clear));
  }

  async function load(): Promise<void> {
    const mine = ++loads;
    current.replaceChildren(loading("the org limit"));
    try {
      const set = await ctx.api.call(getOrgLimitRoute).catch((error: unknown) => {
        if (error instanceof ApiError && error.code === "NOT_FOUND") return null;
        throw error;
      });
      if (mine === loads) render(set);
    } catch (error) {
      if (mine !== loads) return;
      current.replaceChildren(h("p", { class: "muted" }, "The org limit could not be loaded."));
      ctx.notify.problem(error);
    }
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    limit.removeAttribute("aria-invalid");
    windowSeconds.removeAttribute("aria-invalid");
    const body = { limit: Number(limit.value.trim() || Number.NaN), windowSeconds: Number(windowSeconds.value.trim() || Number.NaN) };
    const set = await run(
      ctx.notify,
      save,
      "Setting…",
      () => ctx.api.call(putOrgLimitRoute, { body }),
      (field) => (field === "limit" ? limit : field === "windowSeconds" ? windowSeconds : null),
    );
    if (set === undefined) return;
    ctx.notify.status(`Org limit set: ${set.limit} requests per ${set.windowSeconds} s (${set.keys} keys told).`);
    render(set);
  });

  return {
    element,
    show() {
      void load();
    },
  };
}

export const orgLimit: PanelFactory = {
  route: /^\/org-limit$/,
  nav: { label: "Org limit", href: "#/org-limit" },
  available: (me) => me.can.changeRateLimits,
  create: orgLimitPanel,
};
