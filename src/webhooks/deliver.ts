import { Webhook } from "standardwebhooks";
import { withTimeout } from "../timeout";
import { checkDeliveryTarget, dohResolver, type ResolveHost } from "./webhook-url";

/** A receiver that has not answered in this long has failed this attempt. */
export const DELIVERY_TIMEOUT_MS = 10_000;

/** A fresh signing secret in the Standard Webhooks form: `whsec_` and base64 of 32 random bytes. */
export function newWebhookSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return `whsec_${btoa(String.fromCharCode(...bytes))}`;
}

/**
 * One delivery attempt, signed per Standard Webhooks: `webhook-id` (the same on
 * every retry, so receivers can drop duplicates), `webhook-timestamp` (this
 * attempt), `webhook-signature` (v1, HMAC-SHA256 over id.timestamp.body).
 * Redirects are not followed: a 3xx is a failed attempt, so a receiver cannot
 * bounce the request to an address the URL check refused. A receiver named by a
 * host name has its addresses checked again first (webhook-url.ts
 * `checkDeliveryTarget`, DNS rebinding), over DNS-over-HTTPS through `send`
 * unless a resolver is given; a private address is a failed attempt, not sent.
 */
export async function deliver(
  input: { url: string; secret: string; id: string; payload: string; now: number; timeoutMs?: number },
  send: typeof fetch,
  resolve: ResolveHost = dohResolver(send),
): Promise<{ ok: boolean; status: number | null; error: string | null }> {
  const target = await checkDeliveryTarget(input.url, resolve);
  if (!target.ok) return { ok: false, status: null, error: target.error };
  const at = new Date(Math.floor(input.now / 1000) * 1000);
  const signature = new Webhook(input.secret).sign(input.id, at, input.payload);
  try {
    const response = await withTimeout(
      send(input.url, {
        method: "POST",
        redirect: "manual",
        headers: {
          "content-type": "application/json",
          "user-agent": "Keyward-Webhooks/1",
          "webhook-id": input.id,
          "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
          "webhook-signature": signature,
        },
        body: input.payload,
      }),
      input.timeoutMs ?? DELIVERY_TIMEOUT_MS,
      "webhook receiver",
    );
    await response.body?.cancel();
    const ok = response.status >= 200 && response.status < 300;
    return { ok, status: response.status, error: ok ? null : `answered ${response.status}` };
  } catch (error) {
    return { ok: false, status: null, error: error instanceof Error ? error.name : "failed" };
  }
}
