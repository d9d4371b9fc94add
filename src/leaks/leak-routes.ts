import { Hono } from "hono";
import * as z from "zod";
import { settleBounded } from "../bounded";
import { backendUnavailable, KeywardError } from "../errors";
import type { GuardClient } from "../guard/guard-client";
import type { KeywardEnv } from "../http/keyward-env";
import { retryAfterSeconds } from "../http/rate-limit-headers";
import { readBody, readBodyBytes } from "../http/request-input";
import { hashKey } from "../keys/key-format";
import type { Logger } from "../log";
import { KeysUnavailable, type SecretScanningKeys, verifyEcdsaP256 } from "./github-keys";
import type { LeakHandler } from "./leak-handler";

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
  url: z.url("must be a URL").max(2048).optional(),
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

function readRaw(request: Request, max: number): Promise<Uint8Array> {
  return readBodyBytes(request, max);
}

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

  app.post("/leaks", async (c) => {
    const requestId = c.get("requestId");
    // Per client address (Cloudflare's, never a client-written header), counted by
    // a guard of its own: the same sliding window as a key's, never a key's guard.
    const address = c.req.header("cf-connecting-ip") ?? "unknown";
    const verdict = await options.guards.check({
      requestId,
      consume: true,
      settings: {
        keyId: `leak-reports:${address}`,
        version: 1,
        limit: options.reportsPerMinute,
        windowSeconds: 60,
        expiresAt: null,
        revoked: false,
        revokeAt: null,
      },
    });
    if (verdict.kind === "limited") {
      const retryAfter = retryAfterSeconds(verdict.retryAfterMs);
      throw new KeywardError("RATE_LIMITED", `Too many leak reports from this address. Retry after ${retryAfter} s.`, {
        headers: { "Retry-After": String(retryAfter) },
      });
    }
    const body = await readBody(c.req.raw, reportBody);
    // The answer is decided before anything is looked up, and the work happens
    // after it is sent: same status, body and timing for a known key, an
    // unknown one or garbage. Nothing says whether the key exists or whose it is.
    c.executionCtx.waitUntil(
      options.handleLeak({ token: body.key, url: body.url ?? null, source: "report", requestId }).catch((error: unknown) => {
        options.log.error("leak_report_failed", { requestId, error: error instanceof Error ? error.name : "unknown" });
      }),
    );
    return c.json({ status: "received" }, 202);
  });

  app.post("/leaks/github", async (c) => {
    const identifier = c.req.header("github-public-key-identifier");
    const signature = c.req.header("github-public-key-signature");
    if (!identifier) throw badSignature("GITHUB-PUBLIC-KEY-IDENTIFIER", "is required");
    if (!signature) throw badSignature("GITHUB-PUBLIC-KEY-SIGNATURE", "is required");
    const raw = await readRaw(c.req.raw, MAX_GITHUB_BODY_BYTES);
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
    const outcomes = await settleBounded(parsed.data, 8, (item) =>
      options.handleLeak({ token: item.token, url: item.url ?? null, source: GITHUB_ACTOR, requestId }),
    );
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
        label: (outcomes[i] as PromiseFulfilledResult<string>).value,
      })),
    );
    return c.json(feedback, 200);
  });

  for (const path of ["/leaks", "/leaks/github"]) {
    app.all(path, (c) => {
      throw new KeywardError("METHOD_NOT_ALLOWED", `${c.req.method} is not allowed here; use POST.`, { headers: { Allow: "POST" } });
    });
  }
  return app;
}
