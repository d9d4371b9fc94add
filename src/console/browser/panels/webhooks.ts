import type { DeliveryList, WebhookCreated, WebhookInput, WebhookView } from "../../../admin/api-types";
import { deleteWebhookRoute, deliveriesRoute, getWebhookRoute, putWebhookRoute, redeliverRoute } from "../../../admin/route-refs.js";
import { WEBHOOK_EVENTS } from "../../../webhooks/webhook-events";
import { ApiError } from "../api";
import { h, srOnly, when } from "../dom";
import { loading, run } from "../notify";
import type { ConsoleContext, Panel, PanelFactory } from "../panel";

const EVENT_TEXT: Record<(typeof WEBHOOK_EVENTS)[number], string> = {
  "key.created": "a key is created",
  "key.revoked": "a key is revoked",
  "key.leaked": "a key is reported leaked",
  "key.rolled": "a key is rolled (new secret)",
  "key.expiring": "a key expires in 7 days, then in 1 day",
  "usage.anomaly": "usage monitoring flags an anomaly",
  "credits.low": "a key's (or the org's) credits fall below their alertBelow",
  "credits.exhausted": "a key's (or the org's) credits reach zero",
};

/**
 * The signing secret, once: shown in a modal right after it is made, and gone from
 * the page when the dialog closes (the API never shows it again).
 */
function showWebhookSecret(created: WebhookCreated, returnFocus: HTMLElement): void {
  const copied = h("p", { id: "webhook-copied", class: "muted", role: "status", hidden: true }, "Copied to the clipboard.");
  const copy = h("button", { id: "webhook-copy", type: "button" }, "Copy");
  const done = h("button", { id: "webhook-done", type: "button" }, "I have stored it");
  const dialog = h(
    "dialog",
    { id: "webhook-secret-dialog", "aria-labelledby": "webhook-secret-title", "aria-describedby": "webhook-secret-once" },
    h("h2", { id: "webhook-secret-title" }, "Copy the signing secret"),
    h(
      "p",
      { id: "webhook-secret-once" },
      h("strong", null, "This is the only time it is shown."),
      " Your receiver verifies each delivery's webhook-signature with it (Standard Webhooks). Saving the webhook again makes a new secret.",
    ),
    h("div", { class: "row" }, h("code", { id: "webhook-secret", class: "secret" }, created.secret), copy),
    copied,
    h("div", { class: "actions" }, done),
  );
  copy.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(created.secret);
      copied.hidden = false;
    } catch {
      copied.textContent = "The browser refused the clipboard: select the secret and copy it by hand.";
      copied.hidden = false;
    }
  });
  done.addEventListener("click", () => dialog.close());
  dialog.addEventListener("close", () => {
    dialog.remove();
    returnFocus.focus();
  });
  document.body.append(dialog);
  dialog.showModal();
  copy.focus();
}

/** In-page confirmation before the webhook is removed; Cancel has the focus first. */
function confirmRemove(url: string, onConfirm: () => Promise<boolean>, returnFocus: () => HTMLElement): void {
  const remove = h("button", { id: "webhook-delete-confirm", type: "button", class: "danger-solid" }, "Remove webhook");
  const cancel = h("button", { id: "webhook-delete-cancel", type: "button", class: "secondary" }, "Cancel");
  const dialog = h(
    "dialog",
    { id: "webhook-delete-dialog", "aria-labelledby": "webhook-delete-title" },
    h("h2", { id: "webhook-delete-title" }, "Remove the webhook?"),
    h("p", null, "Events stop going to ", h("code", { class: "mono" }, url), ". Its secret is forgotten."),
    h("div", { class: "actions" }, remove, cancel),
  );
  remove.addEventListener("click", async () => {
    remove.disabled = true;
    if (await onConfirm()) dialog.close();
    remove.disabled = false;
  });
  cancel.addEventListener("click", () => dialog.close());
  dialog.addEventListener("close", () => {
    dialog.remove();
    returnFocus().focus();
  });
  document.body.append(dialog);
  dialog.showModal();
  cancel.focus();
}

/** Settings → Webhook: where the org's key events go (PUT/GET/DELETE …/webhook) and recent deliveries. */
function webhooksPanel(ctx: ConsoleContext): Panel {
  let loads = 0;
  const heading = h("h1", { id: "webhook-title", tabindex: "-1", "data-focus": true }, "Webhook");
  const current = h("div", { id: "webhook-current" });
  const url = h("input", {
    id: "webhook-url",
    name: "url",
    type: "url",
    required: true,
    placeholder: "https://example.com/keyward-events",
    autocomplete: "off",
  });
  const boxes = WEBHOOK_EVENTS.map((event) => h("input", { type: "checkbox", name: "events", value: event, checked: true }));
  const events = h(
    "fieldset",
    { id: "webhook-events" },
    h("legend", null, "Events"),
    ...WEBHOOK_EVENTS.map((event, i) => h("label", { class: "choice" }, boxes[i], h("code", { class: "mono" }, event), ` ${EVENT_TEXT[event]}`)),
  );
  const save = h("button", { id: "webhook-save", type: "submit" }, "Save webhook");
  const form = h(
    "form",
    { id: "webhook-form", "aria-label": "Webhook settings", novalidate: true },
    h("div", { class: "row" }, h("label", { class: "grow" }, "Receiver URL (https; in development also http://127.0.0.1)", url)),
    events,
    h("div", { class: "actions" }, save),
  );
  const deliveries = h("div", { id: "webhook-deliveries" });
  const element = h(
    "section",
    { id: "webhook", class: "card", "aria-labelledby": "webhook-title" },
    heading,
    h("p", { class: "muted" }, "Keyward signs each event (Standard Webhooks) and retries failed deliveries with backoff for 24 hours."),
    current,
    h("h2", { id: "webhook-form-title" }, "Receiver and events"),
    form,
    h("h2", null, "Recent deliveries"),
    deliveries,
  );

  function renderCurrent(hook: WebhookView | null): void {
    if (hook === null) {
      current.replaceChildren(h("p", { id: "webhook-none", class: "muted" }, "No webhook: events are not sent anywhere."));
      save.textContent = "Save webhook";
      return;
    }
    const remove = h("button", { id: "webhook-delete", type: "button", class: "danger" }, "Remove webhook");
    remove.addEventListener("click", () =>
      confirmRemove(
        hook.url,
        async () => {
          const ok = await run(ctx.notify, null, "", async () => {
            await ctx.api.call(deleteWebhookRoute);
            return true;
          });
          if (ok) {
            ctx.notify.status("The webhook is removed.");
            void load();
          }
          return ok === true;
        },
        () => url,
      ),
    );
    current.replaceChildren(
      h(
        "dl",
        { class: "facts", id: "webhook-facts" },
        h("dt", null, "Receiver"),
        h("dd", null, h("code", { class: "mono", id: "webhook-current-url" }, hook.url)),
        h("dt", null, "Events"),
        h("dd", { id: "webhook-current-events" }, hook.events.join(", ")),
        h("dt", null, "Secret"),
        h("dd", null, `made ${when(hook.createdAt)}; shown only when it was made`),
      ),
      h("div", { class: "actions" }, remove),
    );
    url.value = hook.url;
    for (const box of boxes) box.checked = hook.events.includes(box.value as (typeof WEBHOOK_EVENTS)[number]);
    save.textContent = "Save and make a new secret";
  }

  /** Redeliver: the delivery goes out again now (same webhook-id, signed afresh), whatever became of it. */
  function redeliverButton(d: DeliveryList["deliveries"][number]): HTMLButtonElement | null {
    // A pending delivery is already queued: sending it again now would only jump its backoff.
    if (d.status === "pending") return null;
    const button = h("button", { type: "button", class: "secondary", "data-action": "redeliver" }, "Redeliver", srOnly(` ${d.type} ${d.id}`));
    button.addEventListener("click", async () => {
      const queued = await run(ctx.notify, button, "Queuing…", () => ctx.api.call(redeliverRoute, { params: { id: d.id } }));
      if (queued === undefined) return;
      ctx.notify.status(`The ${d.type} delivery is queued again: it goes out within a few seconds.`);
      void load();
    });
    return button;
  }

  function renderDeliveries(list: DeliveryList["deliveries"]): void {
    if (list.length === 0) {
      deliveries.replaceChildren(h("p", { class: "muted" }, "None yet."));
      return;
    }
    deliveries.replaceChildren(
      h(
        "table",
        { class: "stack" },
        h(
          "thead",
          null,
          h(
            "tr",
            null,
            ...["Event", "Status", "Attempts", "Last answer", "Created"].map((t) => h("th", { scope: "col" }, t)),
            h("th", { scope: "col" }, h("span", { class: "sr-only" }, "Actions")),
          ),
        ),
        h(
          "tbody",
          { id: "delivery-rows" },
          ...list.map((d) =>
            h(
              "tr",
              { "data-delivery-id": d.id },
              h("td", { "data-label": "Event" }, h("code", { class: "mono" }, d.type)),
              h("td", { "data-label": "Status" }, d.status, d.nextAttemptAt ? h("span", { class: "sub" }, `next try ${when(d.nextAttemptAt)}`) : null),
              h("td", { "data-label": "Attempts" }, String(d.attempts)),
              h("td", { "data-label": "Last answer" }, d.lastStatus !== null ? `HTTP ${d.lastStatus}` : (d.lastError ?? "—")),
              h("td", { "data-label": "Created" }, when(d.createdAt)),
              h("td", null, redeliverButton(d)),
            ),
          ),
        ),
      ),
    );
  }

  async function load(): Promise<void> {
    const mine = ++loads;
    current.replaceChildren(loading("the webhook"));
    try {
      const hook = await ctx.api.call(getWebhookRoute).catch((error: unknown) => {
        if (error instanceof ApiError && error.code === "NOT_FOUND") return null;
        throw error;
      });
      if (mine !== loads) return;
      renderCurrent(hook);
      const list = hook === null ? { deliveries: [] } : await ctx.api.call(deliveriesRoute);
      if (mine !== loads) return;
      renderDeliveries(list.deliveries);
    } catch (error) {
      if (mine !== loads) return;
      current.replaceChildren(h("p", { class: "muted" }, "The webhook settings could not be loaded."));
      ctx.notify.problem(error);
    }
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    url.removeAttribute("aria-invalid");
    const chosen = boxes.filter((b) => b.checked).map((b) => b.value) as WebhookInput["events"];
    const body: WebhookInput = { url: url.value.trim(), events: chosen };
    const created = await run(
      ctx.notify,
      save,
      "Saving…",
      () => ctx.api.call(putWebhookRoute, { body }),
      (field) => (field === "url" ? url : field.startsWith("events") ? (boxes[0] ?? null) : null),
    );
    if (created === undefined) return;
    ctx.notify.status(`Events now go to ${created.url}.`);
    void load();
    showWebhookSecret(created, save);
  });

  return {
    element,
    show() {
      void load();
    },
  };
}

export const webhooks: PanelFactory = {
  route: /^\/webhook$/,
  nav: { label: "Webhook", href: "#/webhook" },
  available: (me) => me.can.revokeKeys,
  create: webhooksPanel,
};
