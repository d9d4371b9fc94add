import type { AuditEvent, KeyView } from "../../../admin/api-types";
import { actorName, describe } from "../audit-text";
import { confirmRevoke } from "../dialogs/revoke-dialog";
import { confirmRoll } from "../dialogs/roll-dialog";
import { h, present, relative, srOnly, when } from "../dom";
import { keyDetailSections } from "../extensions";
import { revocable } from "../key-list";
import { loading } from "../notify";
import type { ConsoleContext, Panel, PanelFactory } from "../panel";
import { statusBadge } from "./keys";

const mono = (text: string) => h("code", { class: "mono" }, text);

/** One key, everything the API knows about it, and what can be done to it. */
function keyDetailPanel(ctx: ConsoleContext): Panel {
  let loads = 0;
  const heading = h("h1", { id: "detail-title", tabindex: "-1", "data-focus": true }, "Key");
  const body = h("div", { id: "key-detail" });
  const element = h(
    "section",
    { id: "detail", class: "card", "aria-labelledby": "detail-title" },
    h("p", null, h("a", { href: "#/keys", id: "back-to-keys" }, "← All keys")),
    heading,
    body,
  );

  function facts(k: KeyView, events: AuditEvent[]): HTMLElement {
    const revokedBy = events.find((e) => e.action === "key.revoked");
    const scheduledBy = events.find((e) => e.action === "key.revocation_scheduled");
    const rows: [string, Node | string][] = [
      ["Label", k.label],
      ["Id", mono(k.id)],
      ["Key prefix", mono(`${k.prefix}…`)],
      ["Environment", k.environment],
      ["Status", statusBadge(k)],
      [
        "Scopes",
        k.scopes === null
          ? "everything the organisation may do"
          : k.scopes.length
            ? h("span", null, ...k.scopes.flatMap((s, i) => [i ? " " : "", mono(s)]))
            : "none",
      ],
      ["Created", `${when(k.createdAt)} by ${actorName(k.createdBy)}`],
      ["Expires", k.expiresAt === null ? "never" : `${when(k.expiresAt)} (${relative(k.expiresAt)})`],
      ["Rate limit", `${k.rateLimit.limit} requests per ${k.rateLimit.windowSeconds} s`],
      ["Last used", when(k.lastUsedAt)],
    ];
    if (k.revokeAt !== null) {
      rows.push([
        "Scheduled revocation",
        `${when(k.revokeAt)}: grace period ends ${relative(k.revokeAt)}${scheduledBy ? `; scheduled by ${actorName(scheduledBy.actor)} ${when(scheduledBy.at)}` : ""}`,
      ]);
    }
    if (k.revokedAt !== null) {
      const by = revokedBy ?? scheduledBy;
      rows.push(["Revoked", `${when(k.revokedAt)}${by ? ` by ${actorName(by.actor)}` : ""}`]);
    }
    return h("dl", { class: "facts", id: "key-facts" }, ...rows.flatMap(([name, value]) => [h("dt", null, name), h("dd", null, value)]));
  }

  function render(k: KeyView, events: AuditEvent[], reload: () => void): void {
    heading.replaceChildren(k.label, " ", h("span", { class: "muted mono" }, `${k.prefix}…`));
    const revoke =
      revocable(k) && ctx.me.can.revokeKeys
        ? h("button", { id: "detail-revoke", type: "button", class: "danger" }, k.revokeAt === null ? "Revoke" : "Revoke sooner", srOnly(` ${k.label}`))
        : null;
    revoke?.addEventListener("click", () =>
      confirmRevoke(k, {
        api: ctx.api,
        returnFocus: () => document.getElementById("detail-revoke") ?? heading,
        onRevoked: (updated, scheduled) => {
          ctx.notify.status(scheduled ? `${k.label} will be revoked ${when(updated.revokeAt)}.` : `${k.label} is revoked.`);
          ctx.keysChanged();
          reload();
        },
      }),
    );
    const roll =
      k.status === "active" && ctx.me.can.revokeKeys
        ? h("button", { id: "detail-roll", type: "button", class: "secondary" }, "Roll secret", srOnly(` of ${k.label}`))
        : null;
    roll?.addEventListener("click", () =>
      confirmRoll(k, {
        api: ctx.api,
        notify: ctx.notify,
        returnFocus: () => document.getElementById("detail-roll") ?? heading,
        onRolled: () => {
          ctx.keysChanged();
          reload();
        },
      }),
    );
    const recent = events.slice(0, 5);
    body.replaceChildren(
      ...present(
        facts(k, events),
        h(
          "div",
          { class: "actions" },
          roll,
          revoke,
          // The audit log is the admins' (a member has no Audit tab to land on).
          ctx.me.can.readAudit ? h("a", { href: `#/audit?key=${encodeURIComponent(k.id)}`, id: "detail-audit" }, "Audit log of this key") : null,
        ),
        ...keyDetailSections.map((section) => section(k, ctx)),
        h(
          "section",
          { "aria-labelledby": "recent-title" },
          h("h2", { id: "recent-title" }, "Recent activity"),
          recent.length
            ? h("ul", { id: "recent-events" }, ...recent.map((e) => h("li", null, `${when(e.at)} · ${actorName(e.actor)} · ${describe(e)}`)))
            : h("p", { class: "muted" }, "Nothing recorded yet."),
        ),
      ),
    );
  }

  async function load(id: string): Promise<void> {
    const mine = ++loads;
    heading.replaceChildren("Key ", h("span", { class: "muted mono" }, id));
    body.replaceChildren(loading("the key"));
    try {
      // The key's latest entries, filtered by the server (the whole log is #/audit?key=…).
      const [k, audit] = await Promise.all([ctx.api.getKey(id), ctx.me.can.readAudit ? ctx.api.audit({ key: id }) : Promise.resolve({ events: [] })]);
      if (mine !== loads) return;
      const events = audit.events.filter((e) => e.keyId === id);
      render(k, events, () => void load(id));
    } catch (error) {
      if (mine !== loads) return;
      body.replaceChildren(h("p", { class: "muted" }, "This key could not be loaded."));
      ctx.notify.problem(error);
    }
  }

  return {
    element,
    show(match) {
      void load(match[1] ?? "");
    },
  };
}

export const keyDetail: PanelFactory = {
  route: /^\/keys\/(key_[0-9a-f]{20})$/,
  available: (me) => me.can.listKeys,
  create: keyDetailPanel,
};
