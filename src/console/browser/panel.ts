import type { Me } from "../../admin/api-types";
import type { AdminClient } from "./api";
import type { Notifier } from "./notify";

/** What every panel gets from the shell for one signed-in session. */
export interface ConsoleContext {
  readonly api: AdminClient;
  readonly org: string;
  /** Who the token is and what it may do here (GET …/me at sign-in). */
  readonly me: Me;
  readonly notify: Notifier;
  /** The id of this console session when signed in with the session cookie; null with a pasted token. */
  readonly sessionId: string | null;
  /** Goes to a view: `#/keys`, `#/keys/key_…`, `#/audit?key=…`. */
  navigate(hash: string): void;
  /** Tells every panel that keys changed (created, revoked), so lists refresh. */
  keysChanged(): void;
}

/**
 * One view of the console. A panel is created fresh for every sign-in and thrown
 * away at sign-out or org switch, so no state survives into the next session.
 * To add one: a module exporting a `PanelFactory`, listed in panels/index.ts.
 */
export interface Panel {
  /** The panel's root, placed in #views; hidden while another panel is shown. */
  readonly element: HTMLElement;
  /** Called when the location's path matches; `match` holds the route's groups. */
  show(match: RegExpMatchArray, query: URLSearchParams): void;
  /** Called after keys change elsewhere (optional). */
  keysChanged?(): void;
}

export interface PanelFactory {
  /** The hash paths this panel answers, e.g. /^\/keys\/(key_[0-9a-f]{20})$/. */
  readonly route: RegExp;
  /** A tab in the navigation, when the panel has one. */
  readonly nav?: { label: string; href: string };
  /** Whether this signed-in caller may see it at all. */
  available(me: Me): boolean;
  create(ctx: ConsoleContext): Panel;
}
