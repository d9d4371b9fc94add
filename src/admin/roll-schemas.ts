import * as z from "zod";

/** Rolling a key (POST /orgs/{org}/keys/{id}/roll): input and output schemas. */

/** A week: the longest grace a replaced secret may keep. */
export const MAX_GRACE_SECONDS = 604_800;

export const rollBody = z.strictObject({
  graceSeconds: z
    .number()
    .int("must be a whole number of seconds")
    .min(0, "must be 0 or more")
    .max(MAX_GRACE_SECONDS, `must be at most ${MAX_GRACE_SECONDS} (7 days)`)
    .optional()
    .describe("how long the old secret keeps working, 0-604800 s; default 0: refused from the next request"),
});

export const rolledKey = z.object({
  id: z.string().describe("the same key id"),
  key: z.string().describe("the new secret, shown this once"),
  prefix: z.string().describe("the new secret's display prefix"),
  previousValidUntil: z.iso.datetime({ offset: true }).describe("when the old secret stops working"),
});
