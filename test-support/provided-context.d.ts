// What test-support/shared-keyward.mjs provides to the "node" project's files (vitest `inject`).
import type { KeywardAccess } from "./keyward-dev.mjs";

declare module "vitest" {
  export interface ProvidedContext {
    keyward: KeywardAccess;
    /** Answers 204 once the shared Keyward is up, or 503 with why it did not start. */
    keywardReadyUrl: string;
    github: { keyId: string; privateKeyPem: string; fetchesUrl: string };
    /** Answers what the metered routes of the shared Keyward's origin received: `{ calls, lastContext }`. */
    meteredOriginUrl: string;
  }
}
