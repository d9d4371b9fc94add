import type { RevokeAllInput, RevokeAllResult } from "../../../admin/api-types";
import { revokeAllRoute } from "../../../admin/route-refs.js";
import { h, srOnly } from "../dom";
import { regionNotifier, run } from "../notify";
import type { ConsoleContext, Panel, PanelFactory } from "../panel";

/** The kill switch's body from the filters; empty filters are left out (every key). */
export function revokeAllInput(confirm: string, filters: { environment: string; labelPrefix: string; createdBefore: string }): RevokeAllInput {
  return {
    confirm,
    ...(filters.environment === "live" || filters.environment === "test" ? { environment: filters.environment } : {}),
    ...(filters.labelPrefix.trim() ? { labelPrefix: filters.labelPrefix.trim() } : {}),
    ...(filters.createdBefore ? { createdBefore: new Date(filters.createdBefore).toISOString() } : {}),
  };
}

/** What the confirmation says the call will do, from its dry run. */
export const willRevokeText = (r: RevokeAllResult) =>
  r.revoked === 0
    ? `No unrevoked key matches${r.alreadyRevoked ? ` (${r.alreadyRevoked} already revoked)` : ""}: there is nothing to revoke.`
    : `This revokes ${r.revoked} key${r.revoked === 1 ? "" : "s"}${r.alreadyRevoked ? ` (${r.alreadyRevoked} more already revoked)` : ""}.`;

/** What was done, in a sentence. */
export const revokedText = (r: RevokeAllResult) =>
  `Revoked ${r.revoked} key${r.revoked === 1 ? "" : "s"}${r.alreadyRevoked ? ` (${r.alreadyRevoked} already revoked)` : ""}. Each is refused from its next request.`;

/**
 * The org kill switch (POST …/keys/revoke-all): every matching key revoked at
 * once, behind a confirmation in which the admin types the org id. The button
 * stays disabled until it matches exactly; the server checks it again.
 */
function killSwitchPanel(ctx: ConsoleContext): Panel {
  const environment = h(
    "select",
    { id: "ks-environment" },
    h("option", { value: "all" }, "all"),
    h("option", { value: "live" }, "live"),
    h("option", { value: "test" }, "test"),
  );
  const labelPrefix = h("input", { id: "ks-label-prefix", autocomplete: "off", spellcheck: "false", placeholder: "e.g. mobile-" });
  const createdBefore = h("input", { id: "ks-created-before", type: "datetime-local" });
  const open = h("button", { id: "kill-switch-open", type: "button", class: "danger-solid" }, "Revoke all matching keys…");
  const result = h("p", { id: "kill-switch-result", role: "status", hidden: true });
  const heading = h("h1", { id: "kill-switch-title", tabindex: "-1", "data-focus": true }, "Kill switch");
  const element = h(
    "section",
    { id: "kill-switch", class: "card", "aria-labelledby": "kill-switch-title" },
    heading,
    h(
      "p",
      null,
      "Revokes every key of ",
      h("strong", null, ctx.org),
      " that matches the filters below, at once: each is refused from its next request. Revocation is final; use it after a compromise.",
    ),
    h(
      "div",
      { class: "row" },
      h("label", null, "Environment", environment),
      h("label", { class: "grow" }, "Label starts with (optional)", labelPrefix),
      h("label", null, "Created before (optional, your local time)", createdBefore),
    ),
    h("div", { class: "actions" }, open),
    result,
  );

  const filters = () => ({ environment: environment.value, labelPrefix: labelPrefix.value, createdBefore: createdBefore.value });

  function confirmDialog(): void {
    const typed = h("input", { id: "kill-switch-confirm", autocomplete: "off", spellcheck: "false", "aria-describedby": "kill-switch-count kill-switch-what" });
    const count = h("p", { id: "kill-switch-count", class: "notice", "aria-live": "polite" }, "Counting the matching keys…");
    /** How many keys the call would revoke (its dry run); null until known, or if it could not be counted. */
    let willRevoke: number | null = null;
    const go = h(
      "button",
      { id: "kill-switch-go", type: "submit", class: "danger-solid", disabled: true },
      "Revoke every matching key",
      srOnly(` of ${ctx.org}`),
    );
    const cancel = h("button", { id: "kill-switch-cancel", type: "button", class: "secondary" }, "Cancel");
    const problem = h("p", { class: "problem", role: "alert", tabindex: "-1", hidden: true });
    const status = h("p", { class: "sr-only", role: "status" });
    const f = filters();
    const scope = [
      f.environment === "all" ? "every environment" : `${f.environment} keys only`,
      f.labelPrefix.trim() ? `labels starting with “${f.labelPrefix.trim()}”` : null,
      f.createdBefore ? `created before ${new Date(f.createdBefore).toLocaleString()}` : null,
    ]
      .filter(Boolean)
      .join(", ");
    const form = h(
      "form",
      { method: "dialog" },
      h("h2", { id: "kill-switch-dialog-title" }, `Revoke every key of ${ctx.org}?`),
      count,
      h(
        "p",
        { id: "kill-switch-what" },
        `Matching: ${scope}. This cannot be undone. Type the organisation id `,
        h("code", { class: "mono" }, ctx.org),
        " to confirm.",
      ),
      h("label", null, "Organisation id", typed),
      problem,
      status,
      h("div", { class: "actions" }, go, cancel),
    );
    const dialog = h("dialog", { id: "kill-switch-dialog", "aria-labelledby": "kill-switch-dialog-title" }, form);
    // Nothing to revoke: nothing to confirm. An unknown count (still counting, or the count failed) does not block: the server decides.
    const ready = () => typed.value === ctx.org && willRevoke !== 0;
    typed.addEventListener("input", () => {
      go.disabled = !ready();
    });
    void ctx.api.call(revokeAllRoute, { body: { ...revokeAllInput("", f), confirm: undefined, dryRun: true } }).then(
      (preview) => {
        willRevoke = preview.revoked;
        count.textContent = willRevokeText(preview);
        go.disabled = !ready();
      },
      () => {
        count.textContent = "The matching keys could not be counted; the revocation still applies to every one of them.";
      },
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (typed.value !== ctx.org) return;
      const notify = regionNotifier(problem, status);
      const done = await run(notify, go, "Revoking…", () => ctx.api.call(revokeAllRoute, { body: revokeAllInput(typed.value, f) }));
      if (done === undefined) {
        // A 503 part-way: the server says what was done; repeating completes it.
        go.disabled = !ready();
        return;
      }
      dialog.close();
      result.textContent = revokedText(done);
      result.hidden = false;
      ctx.notify.status(revokedText(done));
      ctx.keysChanged();
    });
    cancel.addEventListener("click", () => dialog.close());
    dialog.addEventListener("close", () => {
      dialog.remove();
      open.focus();
    });
    document.body.append(dialog);
    dialog.showModal();
    typed.focus();
  }

  open.addEventListener("click", confirmDialog);
  return {
    element,
    show() {
      result.hidden = true;
    },
  };
}

export const killSwitch: PanelFactory = {
  route: /^\/kill-switch$/,
  nav: { label: "Kill switch", href: "#/kill-switch" },
  // Org admins (the operator may call the API, but the console is for org admins).
  available: (me) => me.can.revokeKeys,
  create: killSwitchPanel,
};
