/**
 * Every action the audit log records. `key.creation_rolled_back` follows a
 * `key.created` whose edge-index write failed (the key never worked);
 * `key.rollback_failed` says that undoing it failed too, so the key's row may
 * remain until revoked. A list (not only a type) because the audit API's
 * `action` filter is validated against it: an unknown action is a 400, not an
 * empty page. No imports: the console's and the CLI's types read it.
 */
export const AUDIT_ACTIONS = [
  "key.created",
  "key.creation_rolled_back",
  "key.rollback_failed",
  "key.revoked",
  "key.revocation_scheduled",
  "key.rate_limit_changed",
  "key.disabled",
  "key.enabled",
  "key.credits_changed",
  "key.meta_changed",
  "key.renamed",
  "key.rolled",
  "key.previous_secret_leaked",
  "org.rate_limit_set",
  "org.rate_limit_cleared",
  "org.credits_set",
  "org.credits_cleared",
  "key.leaked",
  "key.leak_reported_again",
  "anomaly.acknowledged",
  "webhook.set",
  "webhook.removed",
] as const;

/** What the audit log records. */
export type AuditAction = (typeof AUDIT_ACTIONS)[number];
