/**
 * What a user token says, as the gateway and the admin API read it and as
 * `keyward token` writes it (cli/token.js holds copies checked against these
 * types, so a change here is a type error there).
 */

/** The role that may manage an org's keys; any other role is a member. */
export const ADMIN_ROLE = "org:admin";

/**
 * Which claim of a user token carries what, by default, and the variable that
 * renames each one (for identity providers that spell them differently).
 */
export const DEFAULT_CLAIM_NAMES = {
  subject: "sub",
  org: "org_id",
  role: "org_role",
  permissions: "permissions",
  scope: "scope",
  resources: "customer_ids",
} as const;

/** The setting that renames each claim, e.g. CLAIM_ORG=organization. */
export const CLAIM_NAME_SETTINGS = {
  subject: "CLAIM_SUBJECT",
  org: "CLAIM_ORG",
  role: "CLAIM_ROLE",
  permissions: "CLAIM_PERMISSIONS",
  scope: "CLAIM_SCOPE",
  resources: "CLAIM_RESOURCES",
} as const;

/** A user token's claim names, after any CLAIM_* renaming. */
export type ClaimNames = { -readonly [K in keyof typeof DEFAULT_CLAIM_NAMES]: string };
