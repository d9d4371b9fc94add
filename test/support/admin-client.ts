import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { hashKey } from "../../src/keys/key-format";
import { kvKeyFor } from "../../src/lookup/key-record";
import { type HarnessOptions, harness } from "./harness";
import { devToken } from "./tokens";

/** A key as the admin API shows it (the fields these tests read). */
export type AdminKeyView = {
  id: string;
  status: string;
  disabledAt: string | null;
  rateLimit: { limit: number; windowSeconds: number };
  [field: string]: unknown;
};

export const newOrg = () => `org_${crypto.randomUUID().slice(0, 8)}`;

export async function adminHeaders(org: string, role = "org:admin") {
  return { authorization: `Bearer ${await devToken({ org, role })}`, "content-type": "application/json" };
}

export const operatorHeaders = () => ({ authorization: `Bearer ${env.KEYWARD_OPERATOR_TOKEN}`, "content-type": "application/json" });

/** A harness plus small helpers for the admin API calls the plan tests make. */
export function adminClient(options: HarnessOptions = {}) {
  const h = harness(options);
  const api = (path: string, init: RequestInit = {}) => h.send(`/_keyward/v1${path}`, init);
  const post = async (org: string, path: string, body: unknown = {}, headers?: Record<string, string>) =>
    api(`/orgs/${org}${path}`, { method: "POST", headers: headers ?? (await adminHeaders(org)), body: JSON.stringify(body) });
  /** A key with credits is a grant of money, so the operator creates it (src/admin/money-grants.ts). */
  async function create(org: string, body: Record<string, unknown> = {}) {
    const res = await post(org, "/keys", { label: "plan test", ...body }, body.credits === undefined ? undefined : operatorHeaders());
    expect(res.status).toBe(201);
    return (await res.json()) as AdminKeyView & { key: string };
  }
  async function events(org: string) {
    const res = await api(`/orgs/${org}/audit`, { headers: await adminHeaders(org) });
    return ((await res.json()) as { events: { action: string; keyId: string; actor: string; detail: Record<string, unknown> }[] }).events;
  }
  /** The key's KV record as it is now, to put back later as a stale copy. */
  async function kvRecord(key: string): Promise<{ put: () => Promise<void> }> {
    const name = kvKeyFor(await hashKey(key));
    const stale = (await env.KEYS.get(name)) as string;
    return { put: () => env.KEYS.put(name, stale) };
  }
  return { h, api, post, create, events, kvRecord };
}

export async function codeOf(res: Response): Promise<string> {
  return ((await res.clone().json()) as { code: string }).code;
}

/** A key given `credits` by the operator, with a window wide enough that only credits refuse. */
export async function paidKey(client: ReturnType<typeof adminClient>, credits: number, org = newOrg()) {
  const created = await client.create(org, { credits: { remaining: credits } });
  const res = await client.api(`/orgs/${org}/keys/${created.id}/rate-limit`, {
    method: "PUT",
    headers: operatorHeaders(),
    body: JSON.stringify({ limit: 100_000, windowSeconds: 60 }),
  });
  expect(res.status).toBe(200);
  return { org, ...created };
}
