// What test-support/shared-keyward.mjs provides to the "wrangler-dev" project's files (vitest `inject`).
import type { KeywardAccess } from "./keyward-dev.mjs";

declare module "vitest" {
  export interface ProvidedContext {
    keyward: KeywardAccess;
    github: { keyId: string; privateKeyPem: string; fetchesUrl: string };
  }
}
