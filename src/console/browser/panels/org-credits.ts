import type { OrgCreditsInput, OrgCreditsView } from "../../../admin/api-types";
import { deleteOrgCreditsRoute, getOrgCreditsRoute, putOrgCreditsRoute } from "../../../admin/route-refs.js";
import { ApiError } from "../api";
import { h, when } from "../dom";
import { loading, run } from "../notify";
import type { ConsoleContext, Panel, PanelFactory } from "../panel";

const count = (n: number) => n.toLocaleString("en-US");

/** "1,000 left; back to 5,000 every month on day 1; alert below 100": the org credits in a sentence. */
export function orgCreditsText(c: OrgCreditsView): string {
  const refill =
    c.refill === null
      ? "not refilled"
      : `back to ${count(c.refill.amount)} ${c.refill.interval === "daily" ? "every day" : `every month on day ${c.refill.refillDay ?? 1}`} (UTC)${c.nextRefillAt === null ? "" : `, next ${when(c.nextRefillAt)}`}`;
  const alert = c.alertBelow === null ? "no low-balance alert" : `credits.low below ${count(c.alertBelow)}`;
  return `${count(c.remaining)} left; ${refill}; ${alert}`;
}

/** The PUT body from the form's fields; empty optional fields are left out. */
export function orgCreditsInput(fields: { remaining: string; interval: string; amount: string; alertBelow: string }): OrgCreditsInput {
  const whole = (v: string) => Number(v.trim());
  return {
    remaining: whole(fields.remaining),
    ...(fields.interval === "daily" || fields.interval === "monthly" ? { refill: { interval: fields.interval, amount: whole(fields.amount) } } : {}),
    ...(fields.alertBelow.trim() ? { alertBelow: whole(fields.alertBelow) } : {}),
  };
}

/**
 * Org credits (PUT/GET/DELETE …/credits), for the operator: one balance every key
 * of the org spends from. Only the operator may set them (they are a grant of
 * money), so only the operator's console shows the panel.
 */
function orgCreditsPanel(ctx: ConsoleContext): Panel {
  let loads = 0;
  const heading = h("h1", { id: "org-credits-title", tabindex: "-1", "data-focus": true }, "Org credits");
  const current = h("div", { id: "org-credits-current" });
  const remaining = h("input", { id: "org-credits-remaining", type: "number", min: "0", step: "1", required: true });
  const interval = h(
    "select",
    { id: "org-credits-interval" },
    h("option", { value: "none" }, "never"),
    h("option", { value: "daily" }, "daily"),
    h("option", { value: "monthly" }, "monthly (day 1)"),
  );
  const amount = h("input", { id: "org-credits-amount", type: "number", min: "0", step: "1" });
  const alertBelow = h("input", { id: "org-credits-alert", type: "number", min: "0", step: "1" });
  const save = h("button", { id: "org-credits-save", type: "submit" }, "Set org credits");
  const form = h(
    "form",
    { id: "org-credits-form", "aria-label": "Org credits", novalidate: true },
    h(
      "div",
      { class: "row" },
      h("label", null, "Balance", remaining),
      h("label", null, "Refill", interval),
      h("label", null, "Refill to", amount),
      h("label", null, "Alert below (optional)", alertBelow),
    ),
    h("div", { class: "actions" }, save),
  );
  const element = h(
    "section",
    { id: "org-credits", class: "card", "aria-labelledby": "org-credits-title" },
    heading,
    h(
      "p",
      { class: "muted" },
      "Every admitted request of every key of ",
      h("strong", null, ctx.org),
      " spends from these; 429 QUOTA_EXCEEDED at zero. Setting them replaces the balance and refill.",
    ),
    current,
    form,
  );

  function render(credits: OrgCreditsView | null): void {
    if (credits === null) {
      current.replaceChildren(h("p", { id: "org-credits-none", class: "muted" }, "No org credits: keys spend only their own."));
      return;
    }
    const clear = h("button", { id: "org-credits-clear", type: "button", class: "danger" }, "Remove org credits");
    clear.addEventListener("click", async () => {
      const done = await run(ctx.notify, clear, "Removing…", () => ctx.api.call(deleteOrgCreditsRoute));
      if (done === undefined) return;
      ctx.notify.status("The org credits are removed: keys spend only their own.");
      void load();
    });
    current.replaceChildren(h("p", { id: "org-credits-state" }, orgCreditsText(credits)), h("div", { class: "actions" }, clear));
  }

  async function load(): Promise<void> {
    const mine = ++loads;
    current.replaceChildren(loading("the org credits"));
    try {
      const credits = await ctx.api.call(getOrgCreditsRoute).catch((error: unknown) => {
        if (error instanceof ApiError && error.code === "NOT_FOUND") return null;
        throw error;
      });
      if (mine === loads) render(credits);
    } catch (error) {
      if (mine !== loads) return;
      current.replaceChildren(h("p", { class: "muted" }, "The org credits could not be loaded."));
      ctx.notify.problem(error);
    }
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = orgCreditsInput({ remaining: remaining.value, interval: interval.value, amount: amount.value, alertBelow: alertBelow.value });
    const set = await run(
      ctx.notify,
      save,
      "Setting…",
      () => ctx.api.call(putOrgCreditsRoute, { body }),
      (field) => (field === "remaining" ? remaining : field.startsWith("refill") ? amount : field === "alertBelow" ? alertBelow : null),
    );
    if (set === undefined) return;
    ctx.notify.status(`Org credits set: ${count(set.remaining)} left.`);
    render(set);
  });

  return {
    element,
    show() {
      void load();
    },
  };
}

export const orgCredits: PanelFactory = {
  route: /^\/credits$/,
  nav: { label: "Org credits", href: "#/credits" },
  available: (me) => me.actor === "operator",
  create: orgCreditsPanel,
};
