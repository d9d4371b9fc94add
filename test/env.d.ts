import type { Env as KeywardEnv } from "../src/env";

declare global {
  namespace Cloudflare {
    interface Env extends KeywardEnv {
      KEYWARD_SIGNING_KEY: string;
      KEYWARD_OPERATOR_TOKEN: string;
      KEYWARD_DEV_JWT_SECRET: string;
      /** The auxiliary origin Worker of vitest.config.ts. */
      TEST_ORIGIN_SERVICE: Fetcher;
    }
    interface GlobalProps {
      mainModule: typeof import("../src/index");
    }
  }
}
