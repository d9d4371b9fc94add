import type { KeyView } from "../../../admin/api-types";
import { creditsRoute, disableKeyRoute, enableKeyRoute } from "../../../admin/route-refs.js";
import { h, present, srOnly, when } from "../dom";
import { auditSentences, keyBadges, keyDetailSections } from "../extensions";
import { holdsInFlightText, settlementText } from "../holds-text";
import { run } from "../notify";
import type { ConsoleContext } from "../panel";

// Plans (issue 15) in the console: each key's credit balance and refill, and
// Disable / Enable for org admins. The disabled state itself is the key's status
// badge ("disabled"), drawn by the key list.

type Credits = NonNullable<KeyView["credits"]>;

const count = (n: number) => n.toLocaleString("en-US");

/** "1,000 credits left", "no credits left" or "unlimited": the balance in a few words. */
export function balanceText(credits: KeyView["credits"]): string {
  if (credits === null) return "unlimited";
  if (credits.remaining === 0) return "no credits left";
  return `${count(credits.remaining)} credit${credits.remaining === 1 ? "" : "s"} left`;
}

/** When and to what the balance is refilled (UTC, as the guard computes it). */
export function refillText(credits: KeyView["credits"]): string {
  const refill = credits?.refill ?? null;
  if (credits === null || refill === null) return "never (credits are not refilled)";
  const cadence = refill.interval === "daily" ? "every day at 00:00 UTC" : `every month on day ${refill.refillDay ?? 1} (UTC; the last day in shorter months)`;
  const next = credits.nextRefillAt === null ? "" : `; next ${when(credits.nextRefillAt)}`;
  return `back to ${count(refill.amount)} ${cadence}${next}`;
}

/** The key's alertBelow in words: when credits.low is raised. */
export const alertText = (below: number) =>
  below === 0 ? "credits.exhausted at zero only (alert below 0)" : `credits.low when the balance falls below ${count(below)}`;

/** Whether this key can still be suspended or resumed: revoked and expired keys stay as they are. */
export const canToggle = (k: KeyView) => k.status === "active" || k.status === "disabled";

// Listings carry the balance as of the last admin change, not the live one (only a
// key's own view asks its guard), so the list says the key is metered and the
// detail view shows the balance.
function creditsBadge(k: KeyView): Node | null {
  if (k.credits === null) return null;
  return h("span", { class: "sub credits" }, k.credits.refill === null ? "uses credits" : `uses credits, refilled ${k.credits.refill.interval}`);
}

/**
 * Set, add to or take from a key's credits (POST …/keys/{id}/credits), with its
 * low-balance alert: a grant of money, so it is offered to those who may grant
 * (the operator; an org admin only within org credits, me.can.grantCredits).
 */
function creditsForm(k: KeyView, ctx: ConsoleContext): HTMLFormElement {
  const operation = h(
    "select",
    { id: "credits-operation" },
    h("option", { value: "set" }, "Set the balance to"),
    h("option", { value: "increment" }, "Add"),
    h("option", { value: "decrement" }, "Take away"),
  );
  const value = h("input", { id: "credits-value", type: "number", min: "0", step: "1", placeholder: "empty with Set: unlimited" });
  const alertBelow = h("input", { id: "credits-alert", type: "number", min: "0", step: "1", value: k.credits?.alertBelow ?? "" });
  const apply = h("button", { id: "credits-apply", type: "submit", class: "secondary" }, "Change credits");
  const form = h(
    "form",
    { id: "credits-form", "aria-label": "Change credits", novalidate: true },
    h(
      "div",
      { class: "row" },
      h("label", null, "Credits", operation),
      h("label", null, "Amount", value),
      h("label", null, "Alert below (empty: none)", alertBelow),
    ),
    h("div", { class: "actions" }, apply),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    value.removeAttribute("aria-invalid");
    alertBelow.removeAttribute("aria-invalid");
    const op = operation.value === "increment" || operation.value === "decrement" ? operation.value : "set";
    const amount = value.value.trim();
    const alert = alertBelow.value.trim();
    const body = {
      operation: op,
      // Set with no amount makes the key unlimited (the server says so); add and take away need one.
      ...(amount === "" ? {} : { value: Number(amount) }),
      ...(alert === "" ? (k.credits?.alertBelow != null ? { alertBelow: null } : {}) : { alertBelow: Number(alert) }),
    } as const;
    const done = await run(
      ctx.notify,
      apply,
      "Changing…",
      () => ctx.api.call(creditsRoute, { params: { id: k.id }, body }),
      (field) => (field === "value" ? value : field === "alertBelow" ? alertBelow : null),
    );
    if (done === undefined) return;
    ctx.notify.status(`${k.label}: ${balanceText(done.credits)}.`);
    ctx.keysChanged();
    ctx.navigate(`#/keys/${k.id}`);
  });
  return form;
}

function planSection(k: KeyView, ctx: ConsoleContext): Node {
  const credits: Credits | null = k.credits;
  const facts = h(
    "dl",
    { class: "facts", id: "plan-facts" },
    h("dt", null, "Credits"),
    h(
      "dd",
      { id: "credit-balance", class: credits !== null && credits.remaining === 0 ? "credits-empty" : null },
      credits === null ? "unlimited (no credit balance)" : balanceText(credits),
    ),
    h("dt", null, "Refill"),
    h("dd", { id: "credit-refill" }, credits === null ? "not applicable" : refillText(credits)),
    ...(credits !== null && credits.alertBelow !== null
      ? [h("dt", null, "Low-balance alert"), h("dd", { id: "credit-alert" }, alertText(credits.alertBelow))]
      : []),
    // Metered routes (docs/metering.md): holds in flight and the latest settlements, as the key's guard holds them.
    ...(k.holds && (k.holds.open.length > 0 || k.holds.recent.length > 0)
      ? [
          h("dt", null, "Holds"),
          h("dd", { id: "holds-in-flight" }, holdsInFlightText(k.holds)),
          h("dt", null, "Last settlements"),
          h("dd", { id: "last-settlements" }, ...k.holds.recent.slice(0, 5).map((x) => h("div", null, `${when(x.at)}: ${settlementText(x)}`))),
        ]
      : []),
    h("dt", null, "Suspended"),
    h("dd", { id: "disabled-state" }, k.disabledAt === null ? "no" : `since ${when(k.disabledAt)}: every request is refused with 403 KEY_DISABLED`),
  );
  // Admins only (the same role that may revoke); a disabled key comes back unchanged.
  let toggle: HTMLButtonElement | null = null;
  if (ctx.me.can.revokeKeys && canToggle(k)) {
    const disabling = k.status === "active";
    const button = h(
      "button",
      { id: disabling ? "key-disable" : "key-enable", type: "button", class: disabling ? "danger" : "secondary" },
      disabling ? "Disable" : "Enable",
      srOnly(` ${k.label}`),
    );
    button.addEventListener("click", async () => {
      const updated = await run(ctx.notify, button, disabling ? "Disabling…" : "Enabling…", () =>
        disabling ? ctx.api.call(disableKeyRoute, { params: { id: k.id }, body: {} }) : ctx.api.call(enableKeyRoute, { params: { id: k.id }, body: {} }),
      );
      if (updated === undefined) return;
      ctx.notify.status(disabling ? `${k.label} is disabled: refused until enabled.` : `${k.label} is enabled again.`);
      ctx.keysChanged();
      ctx.navigate(`#/keys/${k.id}`);
    });
    toggle = button;
  }
  return h(
    "section",
    { id: "plan", "aria-labelledby": "plan-title" },
    h("h2", { id: "plan-title" }, "Plan"),
    facts,
    ctx.me.can.grantCredits && canToggle(k) ? creditsForm(k, ctx) : null,
    ...present(
      toggle
        ? h(
            "div",
            { class: "actions" },
            toggle,
            h(
              "span",
              { class: "muted" },
              k.status === "active" ? "Suspends the key until enabled; its window and balance are kept." : "Resumes with the same window and balance.",
            ),
          )
        : null,
    ),
  );
}

auditSentences["key.disabled"] = () => "Disabled: refused with KEY_DISABLED until enabled";
auditSentences["key.enabled"] = () => "Enabled again, with the same window and balance";
auditSentences["key.credits_changed"] = (e) => {
  const { operation, value, to } = e.detail;
  const change = operation === "set" ? (value === undefined ? "made unlimited" : `set to ${String(value)}`) : `${String(operation)} by ${String(value)}`;
  return `Credits ${change}${to === undefined || operation === "set" ? "" : `: ${String(to)} left`}`;
};

keyBadges.push(creditsBadge);
keyDetailSections.push(planSection);
