import type { Config } from "../config";
import { KeywardError } from "../errors";
import type { Authorizer } from "../gateway";
import type { Logger } from "../log";

export function buildAuthorizer(config: Config, _deps: { now: () => number; log: Logger }): Authorizer {
  const configured = config.userTokens.jwksUrl !== null || config.userTokens.publicKey !== null || config.userTokens.devSecret !== null;
  return async ({ record, userToken }) => {
    if (userToken !== null && !configured) {
      throw new KeywardError("INVALID_USER_TOKEN", "This deployment does not accept user tokens; send the API key alone.", { bearerError: "invalid_token" });
    }
    return { user: null, permissions: record.scopes };
  };
}
