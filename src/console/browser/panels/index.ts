import type { PanelFactory } from "../panel";
import { audit } from "./audit";
import { keyDetail } from "./key-detail";
import { keys } from "./keys";
import { killSwitch } from "./kill-switch";
import { orgCredits } from "./org-credits";
import { orgLimit } from "./org-limit";
import { sessions } from "./sessions";
import { webhooks } from "./webhooks";
// Feature modules that only hook into the key views (extensions.ts).
import "./plan";
import "./key-settings";
import "./usage-detail";
import { usage } from "./usage-overview";
import "./leaks";

/**
 * Every panel of the console, in navigation order. A new panel is one module
 * exporting a PanelFactory, added here; the shell creates it per session.
 */
export const PANELS: readonly PanelFactory[] = [keys, keyDetail, audit, usage, webhooks, sessions, orgCredits, orgLimit, killSwitch];
