// The admin API's key view is checked against the schema that documents it
// (src/admin/schemas.ts, served as /_keyward/v1/openapi.json): at compile time
// (every documented field is produced, with the documented type) and at run time
// (no field the schema does not name, every field it names well-formed).

import { describe, expect, it } from "vitest";
import type * as z from "zod";
import type { view } from "../src/admin/key-view";
import { createdKey, keyView } from "../src/admin/schemas";
import { harness } from "./support/harness";
import { devToken } from "./support/tokens";

// Fails to compile when view() lacks a documented field or gives one another type.
type ViewFitsSchema = ReturnType<typeof view> extends z.infer<typeof keyView> ? true : never;
const viewFitsSchema: ViewFitsSchema = true;

describe("the key view matches its documented schema", () => {
  it("answers create, get, list and revoke with exactly the documented fields", async () => {
    expect(viewFitsSchema).toBe(true);
    const h = harness();
    const org = `org_${crypto.randomUUID().slice(0, 8)}`;
    const headers = { authorization: `Bearer ${await devToken({ org, role: "org:admin" })}`, "content-type": "application/json" };
    const api = (path: string, init: RequestInit = {}) => h.send(`/_keyward/v1/orgs/${org}${path}`, { ...init, headers });
    const body = { label: "schema check", scopes: ["read"], expiresAt: "2099-01-01T00:00:00Z", allowedIps: ["203.0.113.0/24"] };
    const created = await api("/keys", { method: "POST", body: JSON.stringify(body) });
    expect(created.status).toBe(201);
    const createdBody = (await created.json()) as { id: string };
    expect(createdKey.strict().safeParse(createdBody).error?.issues ?? []).toEqual([]);

    const got = await (await api(`/keys/${createdBody.id}`)).json();
    expect(keyView.strict().safeParse(got).error?.issues ?? []).toEqual([]);
    const listed = ((await (await api("/keys")).json()) as { keys: unknown[] }).keys;
    expect(listed).toHaveLength(1);
    expect(keyView.strict().safeParse(listed[0]).error?.issues ?? []).toEqual([]);
    const revoked = await (await api(`/keys/${createdBody.id}/revoke`, { method: "POST", body: "{}" })).json();
    expect(keyView.strict().safeParse(revoked).error?.issues ?? []).toEqual([]);
    expect((revoked as { status: string }).status).toBe("revoked");
  });
});
