import { describe, expect, it } from "vitest";
import { harness } from "./support/harness";
import { devToken } from "./support/tokens";

const ORG = () => `org_${crypto.randomUUID().slice(0, 8)}`;

describe("a token of one org asking for another", () => {
  it("says which org the token is for, the same whether the other org exists or not", async () => {
    const h = harness();
    const mine = ORG();
    const existing = ORG();
    const missing = ORG();
    const headersFor = async (org: string) => ({ authorization: `Bearer ${await devToken({ org, role: "org:admin" })}`, "content-type": "application/json" });
    const created = await h.send(`/_keyward/v1/orgs/${existing}/keys`, { method: "POST", headers: await headersFor(existing), body: '{"label":"x"}' });
    expect(created.status).toBe(201);

    const answers = [];
    for (const org of [existing, missing]) {
      const res = await h.send(`/_keyward/v1/orgs/${org}/keys`, { headers: await headersFor(mine) });
      answers.push({ status: res.status, body: (await res.json()) as { code: string; message: string } });
    }
    for (const { status, body } of answers) {
      expect(status).toBe(404);
      expect(body.code).toBe("NOT_FOUND");
      expect(body.message).toContain(`This token is for organisation "${mine}"`);
      expect(body.message).not.toContain(existing);
    }
    expect(answers[0]?.body.message).toBe(answers[1]?.body.message);
  });
});
