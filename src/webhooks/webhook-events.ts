/** The events an org's webhook can receive (docs/webhooks.md). */
export const WEBHOOK_EVENTS = [
  "key.created",
  "key.revoked",
  "key.leaked",
  "key.rolled",
  "key.expiring",
  "usage.anomaly",
  "credits.low",
  "credits.exhausted",
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENTS)[number];

/** Notices before a key's expiresAt: 7 days and 1 day ahead. */
export const EXPIRY_NOTICES = [
  { bit: 1, beforeMs: 7 * 86_400_000, label: "7d" },
  { bit: 2, beforeMs: 86_400_000, label: "1d" },
] as const;

/**
 * Which expiry notices are due for a key at `now`, given the notices already
 * sent (`sent`, a bit set). A notice whose moment had already passed when the
 * key was created (a key made to live 3 days gets no 7-day notice) is skipped
 * but marked as sent, so that it is never sent late. Pure.
 */
export function dueExpiryNotices(key: { createdAt: number; expiresAt: number }, sent: number, now: number): { due: string[]; sent: number } {
  const due: string[] = [];
  let bits = sent;
  for (const notice of EXPIRY_NOTICES) {
    if (bits & notice.bit) continue;
    const at = key.expiresAt - notice.beforeMs;
    if (at <= key.createdAt) {
      bits |= notice.bit;
      continue;
    }
    if (now >= at && now < key.expiresAt) {
      due.push(notice.label);
      bits |= notice.bit;
    }
  }
  // A later notice due makes an earlier one pointless (the 1-day notice replaces a missed 7-day one).
  if (due.length > 1) due.splice(0, due.length - 1);
  return { due, sent: bits };
}

/** The next moment an expiry notice becomes due for this key, or null. */
export function nextExpiryNoticeAt(key: { createdAt: number; expiresAt: number }, sent: number, now: number): number | null {
  let next: number | null = null;
  for (const notice of EXPIRY_NOTICES) {
    if (sent & notice.bit) continue;
    const at = key.expiresAt - notice.beforeMs;
    if (at <= key.createdAt || key.expiresAt <= now) continue;
    const when = Math.max(at, now);
    if (next === null || when < next) next = when;
  }
  return next;
}
