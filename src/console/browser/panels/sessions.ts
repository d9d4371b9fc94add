import type { SessionList } from "../../../admin/api-types";
import { endSessionRoute, listSessionsRoute } from "../../../admin/route-refs.js";
import { h, relative, srOnly, when } from "../dom";
import { loading, run } from "../notify";
import type { ConsoleContext, Panel, PanelFactory } from "../panel";

type SessionRow = SessionList["sessions"][number];

/** How the session signed in, in words. */
export const viaText = (via: SessionRow["via"]) => (via === "portal" ? "portal link" : "identity provider");

/**
 * The org's open console sessions (GET …/sessions) and End for each (DELETE
 * …/sessions/{id}): an ended session's next call is 401, wherever its cookie is.
 * For org admins, who may end anyone's, their own included (that signs them out).
 */
function sessionsPanel(ctx: ConsoleContext): Panel {
  let loads = 0;
  const heading = h("h1", { id: "sessions-title", tabindex: "-1", "data-focus": true }, "Sessions");
  const state = h("div", { id: "sessions-state" });
  const element = h(
    "section",
    { id: "sessions", class: "card", "aria-labelledby": "sessions-title" },
    heading,
    h(
      "p",
      { class: "muted" },
      "Who is signed in to this console for ",
      h("strong", null, ctx.org),
      " with a portal link or the identity provider. Ending a session signs it out at its next click. Pasted tokens are not sessions: they end when they expire.",
    ),
    state,
  );

  function endButton(s: SessionRow): HTMLButtonElement {
    const mine = s.id === ctx.sessionId;
    const button = h(
      "button",
      { type: "button", class: "danger", "data-action": "end-session" },
      mine ? "End (signs you out)" : "End session",
      srOnly(` of ${s.subject}`),
    );
    button.addEventListener("click", async () => {
      const ended = await run(ctx.notify, button, "Ending…", async () => {
        await ctx.api.call(endSessionRoute, { params: { id: s.id } });
        return true;
      });
      if (ended === undefined) return;
      ctx.notify.status(`The session of ${s.subject} is ended.`);
      void load();
    });
    return button;
  }

  function render(sessions: SessionRow[]): void {
    if (sessions.length === 0) {
      state.replaceChildren(h("p", { id: "sessions-none", class: "muted" }, "No open console session."));
      return;
    }
    state.replaceChildren(
      h(
        "table",
        { id: "session-table", class: "stack" },
        h(
          "thead",
          null,
          h(
            "tr",
            null,
            ...["Who", "Role", "Signed in with", "Since", "Last active", "Ends"].map((t) => h("th", { scope: "col" }, t)),
            h("th", { scope: "col" }, h("span", { class: "sr-only" }, "Actions")),
          ),
        ),
        h(
          "tbody",
          { id: "session-rows" },
          ...sessions.map((s) =>
            h(
              "tr",
              { "data-session-id": s.id },
              h("td", { "data-label": "Who" }, s.subject, s.id === ctx.sessionId ? h("span", { class: "sub" }, "this session (you)") : null),
              h("td", { "data-label": "Role" }, s.role),
              h("td", { "data-label": "Signed in with" }, viaText(s.via)),
              h("td", { "data-label": "Since" }, when(s.createdAt)),
              h("td", { "data-label": "Last active" }, relative(s.lastSeenAt)),
              h("td", { "data-label": "Ends" }, `${when(s.expiresAt)} unless used`),
              h("td", null, endButton(s)),
            ),
          ),
        ),
      ),
    );
  }

  async function load(): Promise<void> {
    const mine = ++loads;
    state.replaceChildren(loading("the sessions"));
    try {
      const list = await ctx.api.call(listSessionsRoute);
      if (mine === loads) render(list.sessions);
    } catch (error) {
      if (mine !== loads) return;
      state.replaceChildren(h("p", { class: "muted" }, "The sessions could not be loaded."));
      ctx.notify.problem(error);
    }
  }

  return {
    element,
    show() {
      void load();
    },
  };
}

export const sessions: PanelFactory = {
  route: /^\/sessions$/,
  nav: { label: "Sessions", href: "#/sessions" },
  // Org admins (the API lets the operator list them too; the console's operator view is for grants).
  available: (me) => me.can.revokeKeys,
  create: sessionsPanel,
};
