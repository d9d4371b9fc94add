import type { CreatedKey } from "../../../admin/api-types";
import { h } from "../dom";

/**
 * The one-time secret: shown once in a modal, copied, and gone from the page when the
 * dialog closes. Closing it before the key was copied or confirmed stored (Escape,
 * or any other close request) first warns, in the dialog, that it cannot be shown again.
 */
export function showSecret(created: CreatedKey, returnFocus: HTMLElement | null): HTMLDialogElement {
  let stored = false;
  let closing = false;
  const copied = h("p", { id: "copied", class: "muted", role: "status", hidden: true }, "Copied to the clipboard.");
  const copyButton = h("button", { id: "copy", type: "button" }, "Copy");
  const back = h("button", { id: "back-to-key", type: "button", class: "secondary" }, "Back to the key");
  const closeAnyway = h("button", { id: "close-anyway", type: "button", class: "danger" }, "Close without storing it");
  const warning = h(
    "div",
    { id: "unstored-warning", class: "warning", role: "alert", hidden: true },
    h("p", null, h("strong", null, "You have not copied this key."), " It will never be shown again: if you close now, revoke it and create another."),
    h("div", { class: "actions" }, back, closeAnyway),
  );
  const done = h("button", { id: "done", type: "button" }, "I have stored it");
  const dialog = h(
    "dialog",
    { id: "created", "aria-labelledby": "created-title", "aria-describedby": "created-once" },
    h("h2", { id: "created-title" }, "Copy your new key"),
    h("p", { id: "created-once" }, h("strong", null, "This is the only time it is shown."), " Store it in your secret manager now."),
    h("p", { class: "muted" }, `${created.label} · ${created.environment}`),
    h("div", { class: "row" }, h("code", { id: "new-key", class: "secret" }, created.key), copyButton),
    copied,
    warning,
    h("div", { class: "actions" }, done),
  );

  const close = () => {
    closing = true;
    dialog.close();
  };
  const warn = () => {
    warning.hidden = false;
    back.focus();
  };
  const requestClose = () => (stored ? close() : warn());

  copyButton.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(created.key);
      stored = true;
      copied.hidden = false;
      warning.hidden = true;
    } catch {
      copied.textContent = "The browser refused the clipboard: select the key and copy it by hand.";
      copied.hidden = false;
    }
  });
  done.addEventListener("click", () => {
    stored = true;
    close();
  });
  back.addEventListener("click", () => {
    warning.hidden = true;
    copyButton.focus();
  });
  closeAnyway.addEventListener("click", close);
  // Escape is taken before it becomes a close request, so the warning always comes first.
  dialog.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    event.preventDefault();
    requestClose();
  });
  dialog.addEventListener("cancel", (event) => {
    event.preventDefault();
    requestClose();
  });
  dialog.addEventListener("close", () => {
    if (!closing) {
      // Closed by the browser regardless (a repeated close request): keep the key up, with the warning.
      dialog.showModal();
      warn();
      return;
    }
    // The key leaves the page as soon as the dialog closes.
    dialog.remove();
    returnFocus?.focus();
  });
  document.body.append(dialog);
  dialog.showModal();
  copyButton.focus();
  return dialog;
}
