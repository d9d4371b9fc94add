import type { KeyView } from "../../../admin/api-types";
import { patchKeyRoute } from "../../../admin/route-refs.js";
import { type KeyMeta, META_MAX_BYTES, metaBytes, metaProblem } from "../../../identity/key-meta";
import { ApiError } from "../api";
import { h, present } from "../dom";
import { auditSentences, keyDetailSections } from "../extensions";
import { run } from "../notify";
import type { ConsoleContext } from "../panel";

// A key's label and metadata (PATCH …/keys/{id}): shown to everyone who may see
// the key, edited by org admins. The metadata reaches the origin on every request
// (context token `meta`, X-Keyward-Meta), so the editor says so.

/** The metadata as the editor shows it: pretty JSON, or empty for none. */
export const metaText = (meta: KeyView["meta"]) => (meta === null ? "" : JSON.stringify(meta, null, 2));

/**
 * What the admin typed, read as the server will judge it: empty is "no metadata"
 * (null), anything else must be one JSON object within the server's bounds. A
 * problem is an ApiError naming the field, so it is shown like the server's own.
 */
export function readMeta(text: string): KeyMeta | null | ApiError {
  if (text.trim() === "") return null;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const why = error instanceof SyntaxError ? ` (${error.message})` : "";
    return new ApiError(
      "INVALID_REQUEST",
      `meta: this is not valid JSON${why}. Write one JSON object, such as {"plan": "pro"}, or leave it empty for none.`,
      400,
      null,
      "meta",
    );
  }
  const problem = metaProblem(value);
  if (problem === null) return value as KeyMeta;
  const size = typeof value === "object" && value !== null && !Array.isArray(value) ? metaBytes(value as KeyMeta) : null;
  const over = size !== null && size > META_MAX_BYTES ? ` (this is ${size.toLocaleString("en-US")} bytes)` : "";
  return new ApiError("INVALID_REQUEST", `meta: ${problem}${over}.`, 400, null, "meta");
}

function settingsSection(k: KeyView, ctx: ConsoleContext): Node {
  const shown = h(
    "dl",
    { class: "facts", id: "meta-facts" },
    h("dt", null, "Metadata"),
    h(
      "dd",
      null,
      k.meta === null ? h("span", { id: "meta-none", class: "muted" }, "none") : h("pre", { id: "meta-json", class: "mono meta" }, metaText(k.meta)),
    ),
  );
  // Admins edit; a revoked key takes no more changes (409), so it offers none.
  const editable = ctx.me.can.revokeKeys && k.status !== "revoked";
  let form: HTMLFormElement | null = null;
  if (editable) {
    const label = h("input", { id: "edit-label", name: "label", maxlength: 100, value: k.label, autocomplete: "off", required: true });
    const meta = h("textarea", { id: "edit-meta", name: "meta", rows: 5, spellcheck: "false", class: "mono", placeholder: '{"plan": "pro"}' });
    meta.value = metaText(k.meta);
    const save = h("button", { id: "edit-save", type: "submit" }, "Save label and metadata");
    form = h(
      "form",
      { id: "edit-form", "aria-label": "Label and metadata", novalidate: true },
      h("div", { class: "row" }, h("label", { class: "grow" }, "Label", label)),
      h(
        "label",
        null,
        `Metadata (a JSON object of at most ${META_MAX_BYTES} bytes; empty: none). Sent to your API with every request; never put secrets here.`,
        meta,
      ),
      h("div", { class: "actions" }, save),
    );
    const fieldFor = (field: string) => (field === "label" ? label : field.startsWith("meta") ? meta : null);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      label.removeAttribute("aria-invalid");
      meta.removeAttribute("aria-invalid");
      const read = readMeta(meta.value);
      if (read instanceof ApiError) {
        ctx.notify.problem(read, fieldFor);
        return;
      }
      // Only what changed is sent: a rename alone never touches the metadata the origin sees.
      const body = {
        ...(label.value.trim() !== k.label ? { label: label.value } : {}),
        ...(JSON.stringify(read) !== JSON.stringify(k.meta) ? { meta: read } : {}),
      };
      if (Object.keys(body).length === 0) {
        ctx.notify.status("Nothing changed.");
        return;
      }
      const updated = await run(ctx.notify, save, "Saving…", () => ctx.api.call(patchKeyRoute, { params: { id: k.id }, body }), fieldFor);
      if (updated === undefined) return;
      ctx.notify.status(`Saved ${updated.label}.`);
      ctx.keysChanged();
      ctx.navigate(`#/keys/${k.id}`);
    });
  }
  return h(
    "section",
    { id: "key-settings", "aria-labelledby": "key-settings-title" },
    h("h2", { id: "key-settings-title" }, "Label and metadata"),
    ...present(shown, form),
  );
}

auditSentences["key.renamed"] = (e) => `Renamed from “${String(e.detail.from ?? "")}” to “${String(e.detail.to ?? "")}”`;
auditSentences["key.meta_changed"] = (e) => {
  const { meta, label } = e.detail;
  const what = meta === null || meta === undefined ? "Metadata removed" : `Metadata set to ${JSON.stringify(meta)}`;
  const renamed = typeof label === "object" && label !== null && "to" in label ? `; renamed to “${String((label as { to: unknown }).to)}”` : "";
  return `${what}${renamed}`;
};

keyDetailSections.push(settingsSection);
