import type { PanelFactory } from "../panel";
import { audit } from "./audit";
import { keyDetail } from "./key-detail";
import { keys } from "./keys";

/**
 * Every panel of the console, in navigation order. A new panel is one module
 * exporting a PanelFactory, added here; the shell creates it per session.
 */
export const PANELS: readonly PanelFactory[] = [keys, keyDetail, audit];
