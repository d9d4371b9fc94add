import { describe, expect, it } from "vitest";
import { resetOwnModules } from "./support/reset-own-modules";

// test/support/fresh-storage.ts calls resetOwnModules() before each file of the
// "workers" project, which shares one workerd across files (vitest.config.ts).

describe("each test file gets the project's modules fresh", () => {
  it("re-evaluates the project's modules (a new app module) and keeps the installed packages (the same zod and hono)", async () => {
    const before = { app: await import("../src/app"), zod: await import("zod"), hono: await import("hono") };
    resetOwnModules();
    const after = { app: await import("../src/app"), zod: await import("zod"), hono: await import("hono") };
    expect(after.app).not.toBe(before.app);
    expect(after.app.createKeyward).not.toBe(before.app.createKeyward);
    expect(after.zod).toBe(before.zod);
    expect(after.hono.Hono).toBe(before.hono.Hono);
  });
});
