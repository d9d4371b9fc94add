import * as z from "zod";

const isoTime = z.iso.datetime({ offset: true });

/** GET /orgs/{org}/me: who the token is and what it may do in the organisation. */
export const meView = z.object({
  org: z.string().describe("the organisation asked about (the path's org)"),
  actor: z.enum(["user", "operator"]).describe("who the token is: a user token or the operator token"),
  subject: z.string().nullable().describe("the user's subject; null for the operator"),
  tokenOrg: z.string().nullable().describe("the organisation the user token belongs to"),
  role: z.string().nullable(),
  tokenExpiresAt: isoTime.nullable().describe("when the user token expires; null for the operator token"),
  can: z
    .object({
      listKeys: z.boolean(),
      createKeys: z.boolean(),
      revokeKeys: z.boolean(),
      readAudit: z.boolean(),
      changeRateLimits: z.boolean(),
      grantCredits: z.boolean().describe("may give a key credits (create with, increment, set): the operator, or an org admin of an org with org credits"),
    })
    .describe("what this token may do in this organisation"),
});

export type Me = z.output<typeof meView>;
