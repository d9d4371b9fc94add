import type { KeyView } from "../../../admin/api-types";
import { rollKeyRoute } from "../../../admin/route-refs.js";
import type { AdminClient } from "../api";
import { h } from "../dom";
import type { Notifier } from "../notify";
import { run } from "../notify";
import { showSecret } from "./secret-dialog";

/** How long the old secret may keep working, as the roll dialog offers it. */
const GRACES: [string, number][] = [
  ["No grace: refuse it from the next request", 0],
  ["1 hour", 3_600],
  ["24 hours", 86_400],
  ["7 days", 604_800],
];

/**
 * Rolling a key in the console: asks how long the old secret keeps working, rolls,
 * then shows the new secret once in the one-time secret dialog.
 */
export function confirmRoll(k: KeyView, options: { api: AdminClient; notify: Notifier; returnFocus: () => HTMLElement; onRolled: () => void }): void {
  const grace = h("select", { id: "roll-grace" }, ...GRACES.map(([label, seconds]) => h("option", { value: String(seconds) }, label)));
  const go = h("button", { id: "roll-go", type: "button" }, "Roll secret");
  const cancel = h("button", { id: "roll-cancel", type: "button", class: "secondary" }, "Cancel");
  const dialog = h(
    "dialog",
    { id: "roll-dialog", "aria-labelledby": "roll-title" },
    h("h2", { id: "roll-title" }, `Roll ${k.label}`),
    h("p", null, "A new secret for the same key: its id, limits, credits, metadata and usage stay. The new secret is shown once."),
    h("label", null, "The old secret keeps working for ", grace),
    h("div", { class: "actions" }, go, cancel),
  );
  const close = () => {
    dialog.close();
    dialog.remove();
  };
  cancel.addEventListener("click", () => {
    close();
    options.returnFocus().focus();
  });
  go.addEventListener("click", async () => {
    const rolled = await run(options.notify, go, "Rolling…", () =>
      options.api.call(rollKeyRoute, { params: { id: k.id }, body: { graceSeconds: Number(grace.value) } }),
    );
    if (rolled === undefined) return;
    close();
    options.onRolled();
    showSecret({ ...k, key: rolled.key, prefix: rolled.prefix } as Parameters<typeof showSecret>[0], options.returnFocus());
  });
  document.body.append(dialog);
  dialog.showModal();
  grace.focus();
}
