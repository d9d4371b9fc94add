import { Hono, type MiddlewareHandler } from "hono";
import * as z from "zod";
import { settleBounded } from "../bounded";
import { backendUnavailable, KeywardError } from "../errors";
import type { GuardClient } from "../guard/guard-client";
import type { KeywardEnv } from "../http/keyward-env";
import { retryAfterSeconds } from "../http/rate-limit-headers";
import { defineRoute } from "../http/route-def";
import { routeTable } from "../http/route-table";
import { hashKey } from "../keys/key-format";
import type { Logger } from "../log";
import { addressBucket } from "../net/address-bucket";
import { KeysUnavailable, type SecretScanningKeys, verifyEcdsaP256 } from "./github-keys";
import type { LeakHandler, LeakVerdict } from "./leak-handler";
import { LEAK_URL_PROTOCOL, leakUrlOrNull } from "./leak-url";

export interface LeakRoutesOptions {
  handleLeak: LeakHandler;
  githubKeys: SecretScanningKeys;
  guards: GuardClient;
  reportsPerMinute: number;
  log: Logger;
}

/** GitHub sends batches; this bounds the body read into memory and the work per call. */
export const MAX_GITHUB_BODY_BYTES = 1024 * 1024;
export const MAX_GITHUB_TOKENS = 1000;
const GITHUB_ACTOR = "secret-scanning:github";

const reportBody = z.strictObject({
  key: z.string().min(1, "must not be empty").max(256, "must be at most 256 characters"),
  url: z.url({ protocol: LEAK_URL_PROTOCOL, error: "must be an http or https URL" }).max(2048).optional(),
});

const githubBody = z
  .array(
    z.object({
      token: z.string().max(1024),
      type: z.string().max(256),
      url: z.string().max(4096).optional(),
      source: z.string().max(256).optional(),
    }),
  )
  .max(MAX_GITHUB_TOKENS);

/** `POST /leaks`: a person holding a key reports it. The answer is the same whatever the key. */
export const reportLeakRoute = defineRoute({
  method: "post",
  path: "/leaks",
  summary: "Report a leaked key (anyone; rate-limited per client address). Always 202, known key or not; a known key is revoked (or flagged) after the answer",
  access: "public",
  body: { schema: reportBody, required: true },
  reply: { status: 202, description: "received", schema: z.object({ status: z.literal("received") }) },
  errors: [429, 503],
});

/** `POST /leaks/github`: GitHub secret scanning's batch, signed over the raw body (docs/leaks.md). */
export const githubLeakRoute = defineRoute({
  method: "post",
  path: "/leaks/github",
  summary:
    "GitHub secret scanning partner endpoint: ECDSA P-256 signature (GITHUB-PUBLIC-KEY-IDENTIFIER, GITHUB-PUBLIC-KEY-SIGNATURE) over the raw body, verified before it is parsed",
  access: "public",
  body: { schema: githubBody, required: true, maxBytes: MAX_GITHUB_BODY_BYTES, raw: true },
  reply: {
    status: 200,
    description: "a label for each reported token",
    schema: z.array(z.object({ token_hash: z.string(), token_type: z.string(), label: z.enum(["true_positive", "false_positive"]) })),
  },
  errors: [400, 503],
});

/** The routes leakRoutes serves, for the OpenAPI document. */
export const LEAK_ROUTES = [reportLeakRoute, githubLeakRoute] as const;

const badSignature = (header: string, problem: string) => new KeywardError("INVALID_REQUEST", `${header}: ${problem}; nothing was changed.`, { field: header });

/**
 * Leaked-key reports, open to anyone (no admin token): `POST /leaks` for a
 * person holding a key, `POST /leaks/github` for GitHub's secret scanning.
 * docs/leaks.md describes both.
 */
export function leakRoutes(options: LeakRoutesOptions): Hono<KeywardEnv> {
  const app = new Hono<KeywardEnv>();
  app.use(async (c, next) => {
    await next();
    c.header("Cache-Control", "no-store");
  });

  // Before the body is read: every report counts, well-formed or not.
  const perAddress: MiddlewareHandler<KeywardEnv> = async (c, next) => {
    const requestId = c.get("requestId");
    // Per client address (Cloudflare's, never a client-written header; an IPv6 /64 as
    // one client), counted by a guard of its own: the same sliding window as a key's, never a key's guard.
    const address = addressBucket(c.req.header("cf-connecting-ip"));
    const verdict = await options.guards.check({
      requestId,
      consume: true,
      settings: {
        // The limit is part of the guard's name: a guard keeps the settings it first
        // saw (a newer version alone changes them), so a changed LEAK_REPORTS_PER_MINUTE
        // must reach addresses that already have a window. It starts them afresh.
        keyId: `leak-reports:${options.reportsPerMinute}:${address}`,
        version: 1,
        limit: options.reportsPerMinute,
        windowSeconds: 60,
        expiresAt: null,
        revoked: false,
        revokeAt: null,
        // An address's window has no purpose once empty: its guard then deletes its storage.
        endsWhenIdle: true,
      },
    });
    if (verdict.kind === "limited") {
      const retryAfter = retryAfterSeconds(verdict.retryAfterMs);
      throw new KeywardError("RATE_LIMITED", `Too many leak reports from this address. Retry after ${retryAfter} s.`, {
        headers: { "Retry-After": String(retryAfter) },
      });
    }
    await next();
  };

  const table = routeTable(app);
  table.add(
    reportLeakRoute,
    async (c, { body }) => {
      const requestId = c.get("requestId");
      // The answer is decided before anything is looked up, and the work happens
      // after it is sent: same status, body and timing for a known key, an
      // unknown one or garbage. Nothing says whether the key exists or whose it is.
      c.executionCtx.waitUntil(
        options.handleLeak({ token: body.key, url: body.url ?? null, source: "report", requestId }).catch((error: unknown) => {
          options.log.error("leak_report_failed", { requestId, error: error instanceof Error ? error.name : "unknown" });
        }),
      );
      return { status: "received" as const };
    },
    perAddress,
  );

  table.add(githubLeakRoute, async (c, { body: readRaw }) => {
    const identifier = c.req.header("github-public-key-identifier");
    const signature = c.req.header("github-public-key-signature");
    if (!identifier) throw badSignature("GITHUB-PUBLIC-KEY-IDENTIFIER", "is required");
    if (!signature) throw badSignature("GITHUB-PUBLIC-KEY-SIGNATURE", "is required");
    const raw = await readRaw();
    let key: CryptoKey | null;
    try {
      key = await options.githubKeys.get(identifier);
    } catch (error) {
      // Fail closed: without GitHub's keys no report can be told from a forgery.
      if (error instanceof KeysUnavailable) throw backendUnavailable("GitHub's secret scanning public keys document", 30);
      throw error;
    }
    if (key === null) throw badSignature("GITHUB-PUBLIC-KEY-IDENTIFIER", "is not a current GitHub secret scanning key");
    if (!(await verifyEcdsaP256(key, signature, raw))) throw badSignature("GITHUB-PUBLIC-KEY-SIGNATURE", "does not verify over the body");

    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(raw));
    } catch {
      throw new KeywardError("INVALID_REQUEST", "body: must be a JSON array of { token, type, url, source }", { field: "body" });
    }
    const parsed = githubBody.safeParse(json);
    if (!parsed.success) throw new KeywardError("INVALID_REQUEST", "body: must be a JSON array of { token, type, url, source }", { field: "body" });

    const requestId = c.get("requestId");
    // One report per distinct token: 16 copies of a key in one batch are one report
    // (the first URL for it), and every copy gets that report's label (threats.md 87).
    const firstOf = new Map<string, (typeof parsed.data)[number]>();
    for (const item of parsed.data) if (!firstOf.has(item.token)) firstOf.set(item.token, item);
    const unique = [...firstOf.values()];
    const handled = await settleBounded(unique, 8, (item) =>
      options.handleLeak({ token: item.token, url: leakUrlOrNull(item.url), source: GITHUB_ACTOR, requestId }),
    );
    const byToken = new Map(unique.map((item, i) => [item.token, handled[i] as PromiseSettledResult<LeakVerdict>] as const));
    const outcomes = parsed.data.map((item) => byToken.get(item.token) as PromiseSettledResult<LeakVerdict>);
    const failed = outcomes.find((o) => o.status === "rejected");
    if (failed) {
      // GitHub retries a failed delivery; a retry redoes nothing twice (revocation is idempotent).
      if (failed.reason instanceof KeywardError) throw failed.reason;
      throw backendUnavailable("Keyward's key stores");
    }
    const feedback = await Promise.all(
      parsed.data.map(async (item, i) => ({
        token_hash: await hashKey(item.token),
        token_type: item.type,
        label: (outcomes[i] as PromiseFulfilledResult<LeakVerdict>).value,
      })),
    );
    return feedback;
  });

  table.close();
  return app;
}
