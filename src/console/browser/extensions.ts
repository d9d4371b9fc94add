import type { AuditEvent, KeyView } from "../../admin/api-types";
import type { ConsoleContext } from "./panel";

/**
 * Where feature panels hook into the key views without editing them: a badge next to
 * a key's status (leaked, disabled, anomaly …), a section in the key's detail view
 * (usage, credits …), and a readable sentence for an audit action. Each hook is a
 * pure function of the key or event; push to these lists from the feature's module.
 */
export const keyBadges: ((key: KeyView) => Node | null)[] = [];

export const keyDetailSections: ((key: KeyView, ctx: ConsoleContext) => Node | null)[] = [];

export const auditSentences: Record<string, (event: AuditEvent) => string> = {};
