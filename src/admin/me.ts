import { type Actor, ADMIN_ROLE } from "./admin-auth";
import { iso } from "./key-view";
import type { Me } from "./me-schema";

/**
 * What a caller may do in an organisation, answered by GET /orgs/{org}/me so that
 * the console (and scripts) can check a token once, at sign-in, instead of finding
 * out from the first refused call. Mirrors `requireOrgAdmin` / `requireOperator` / `requireMoneyGrant`;
 * the admin tests hold the two together (each `can` flag against the real route).
 * A token for another organisation learns nothing about this one: every flag is
 * false whether or not the organisation exists.
 */
export function whoAmI(actor: Actor, org: string): Me {
  if (actor.kind === "operator") {
    return {
      org,
      actor: "operator",
      subject: null,
      tokenOrg: null,
      role: null,
      tokenExpiresAt: null,
      can: { listKeys: true, createKeys: true, revokeKeys: true, readAudit: true, changeRateLimits: true, grantCredits: true },
    };
  }
  const member = actor.org === org;
  const admin = member && actor.role === ADMIN_ROLE;
  return {
    org,
    actor: "user",
    subject: actor.subject,
    tokenOrg: actor.org,
    role: actor.role,
    tokenExpiresAt: iso(actor.expiresAt),
    // Org admins grant no money while their org has no org credits (src/admin/money-grants.ts).
    // Any user of the org reads its keys (read-only for members); only admins change them.
    can: { listKeys: member, createKeys: admin, revokeKeys: admin, readAudit: admin, changeRateLimits: false, grantCredits: false },
  };
}
