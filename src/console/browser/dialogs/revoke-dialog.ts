import type { KeyView } from "../../../admin/api-types";
import type { AdminClient } from "../api";
import { h, relative, when } from "../dom";
import { regionNotifier, run } from "../notify";

const HOUR = 3_600_000;
/** Grace periods offered for a rotation; "custom" takes a date and time. */
const GRACE = [
  { value: String(HOUR), text: "1 hour" },
  { value: String(24 * HOUR), text: "24 hours" },
  { value: String(7 * 24 * HOUR), text: "7 days" },
  { value: "custom", text: "Until a date and time…" },
];

export interface RevokeDialogOptions {
  api: AdminClient;
  /** After the server confirmed it: the key as it now is. */
  onRevoked(updated: KeyView, scheduled: boolean): void;
  /** Where focus goes when the dialog closes (the button that opened it, if it still exists). */
  returnFocus(): HTMLElement | null;
  now?: () => number;
}

/** `datetime-local` value for a time, in the browser's zone. */
function localInput(ms: number): string {
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 16);
}

/**
 * In-page confirmation of a revocation, naming the key: now (refused on the next
 * request) or later, with the grace period and the moment it ends shown before
 * anything is sent. Cancel has the focus first, so Enter does not revoke by accident.
 */
export function confirmRevoke(key: KeyView, options: RevokeDialogOptions): HTMLDialogElement {
  const now = options.now ?? Date.now;
  const nowChoice = h("input", { type: "radio", name: "when", value: "now", checked: true });
  const laterChoice = h("input", { type: "radio", name: "when", value: "later" });
  const grace = h(
    "select",
    { id: "grace", name: "grace" },
    ...GRACE.map((g) => h("option", { value: g.value, selected: g.value === String(24 * HOUR) }, g.text)),
  );
  const at = h("input", { id: "revoke-at", type: "datetime-local", name: "at", value: localInput(now() + 24 * HOUR) });
  const atLabel = h("label", { hidden: true }, "Revoke at (your local time)", at);
  const summary = h("p", { id: "grace-summary", class: "muted", "aria-live": "polite" });
  const laterFields = h("div", { hidden: true }, h("label", null, "Grace period", grace), atLabel);
  const problem = h("p", { class: "problem", role: "alert", tabindex: "-1", hidden: true });
  const status = h("p", { class: "sr-only", role: "status" });
  const confirm = h("button", { id: "confirm-revoke", type: "submit", class: "danger-solid" }, `Revoke ${key.label}`);
  const cancel = h("button", { id: "cancel-revoke", type: "button", class: "secondary" }, "Cancel");

  /** The moment chosen, or null for now; NaN when the custom date is not valid. */
  const chosen = (): number | null => {
    if (nowChoice.checked) return null;
    return grace.value === "custom" ? new Date(at.value).getTime() : now() + Number(grace.value);
  };
  const update = () => {
    laterFields.hidden = nowChoice.checked;
    atLabel.hidden = grace.value !== "custom";
    const t = chosen();
    if (t === null) {
      summary.textContent = "Refused on the very next request, everywhere.";
      confirm.textContent = `Revoke ${key.label} now`;
    } else if (Number.isNaN(t) || t <= now()) {
      summary.textContent = "Pick a date and time in the future.";
      confirm.textContent = `Schedule revocation of ${key.label}`;
    } else {
      const iso = new Date(t).toISOString();
      summary.textContent = `Grace period: ${relative(iso, now()).replace(/^in /, "")}. The key keeps working until ${when(iso)}, then is refused.`;
      confirm.textContent = `Schedule revocation of ${key.label}`;
    }
  };
  for (const input of [nowChoice, laterChoice, grace, at]) input.addEventListener("change", update);
  at.addEventListener("input", update);

  const form = h(
    "form",
    { method: "dialog" },
    h("h2", { id: "revoke-title" }, `Revoke ${key.label}?`),
    h("p", null, "Key ", h("code", { class: "mono" }, `${key.prefix}…`), ` (${key.environment}), id `, h("code", { class: "mono" }, key.id), "."),
    key.revokeAt !== null ? h("p", { class: "notice" }, `Already scheduled to be revoked ${when(key.revokeAt)} (${relative(key.revokeAt, now())}).`) : null,
    h(
      "fieldset",
      null,
      h("legend", null, "When"),
      h("label", { class: "choice" }, nowChoice, "Now"),
      h("label", { class: "choice" }, laterChoice, "Later, after a grace period (rotation: deploy the new key first)"),
      laterFields,
      summary,
    ),
    problem,
    status,
    h("div", { class: "actions" }, confirm, cancel),
  );
  const dialog = h("dialog", { id: "revoke-dialog", "aria-labelledby": "revoke-title" }, form);
  const notify = regionNotifier(problem, status);

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const t = chosen();
    if (t !== null && (Number.isNaN(t) || t <= now())) {
      problem.textContent = "Revoke at: pick a date and time in the future.";
      problem.hidden = false;
      at.setAttribute("aria-invalid", "true");
      at.focus();
      return;
    }
    const updated = await run(notify, confirm, t === null ? "Revoking…" : "Scheduling…", () =>
      options.api.revokeKey(key.id, t === null ? {} : { at: new Date(t).toISOString() }),
    );
    if (updated === undefined) return;
    dialog.close();
    options.onRevoked(updated, t !== null);
  });
  cancel.addEventListener("click", () => dialog.close());
  dialog.addEventListener("close", () => {
    dialog.remove();
    options.returnFocus()?.focus();
  });
  update();
  document.body.append(dialog);
  dialog.showModal();
  cancel.focus();
  return dialog;
}
