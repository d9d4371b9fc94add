import { KeywardError } from "./errors";

/**
 * Reads the credentials of a request from its headers, and only its headers:
 * the query string is never read for keys (they would end up in logs).
 *
 *   Authorization: Bearer <api key>
 *   <API key header>: <api key>                       (default X-API-Key)
 *   Authorization: Bearer <JWT> + <API key header>    (user token narrows the key)
 */
export interface Credentials {
  apiKey: string;
  userToken: string | null;
  /** Lower-case names of the headers Keyward consumed; never forwarded. */
  consumed: string[];
}

export interface CredentialOptions {
  /** Lower-case name of the API key header. */
  apiKeyHeader: string;
}

/** docs/contract.md (Credentials): a credential header over 4 KiB is refused before any hashing. */
export const MAX_CREDENTIAL_BYTES = 4096;

const BEARER = /^bearer(?:[ \t]+(.*))?$/is;
// Printable ASCII without space: anything else never appears in a key or a JWT.
const TOKEN_CHARS = /^[\x21-\x7e]+$/;

const missing = (message: string) => new KeywardError("MISSING_AUTH_HEADER", message);
const invalid = (message: string) => new KeywardError("INVALID_API_KEY", message, { bearerError: "invalid_token" });

function distinct(values: string[]): string[] {
  return [...new Set(values)];
}

function checkToken(token: string, where: string): string {
  if (!TOKEN_CHARS.test(token)) {
    throw invalid(`The credential in ${where} contains spaces, control or non-ASCII characters; copy the key again exactly as it was issued.`);
  }
  return token;
}

function splitValues(raw: string): string[] {
  // Headers joins repeated fields with ", "; neither keys nor JWTs contain commas.
  return raw.split(",").map((v) => v.trim());
}

function bearerTokens(raw: string): string[] {
  const tokens: string[] = [];
  for (const value of splitValues(raw)) {
    const match = BEARER.exec(value);
    if (!match) {
      throw missing('Authorization must use the Bearer scheme: send "Authorization: Bearer <api key>" or the key in the API key header.');
    }
    const token = (match[1] ?? "").trim();
    if (token === "") throw missing('The Bearer token is empty: send "Authorization: Bearer <api key>".');
    tokens.push(checkToken(token, "Authorization"));
  }
  return distinct(tokens);
}

export function readCredentials(headers: Headers, options: CredentialOptions): Credentials {
  const authorization = headers.get("authorization");
  const keyHeader = headers.get(options.apiKeyHeader);
  if (authorization === null && keyHeader === null) {
    throw missing(`No API key: send "Authorization: Bearer <api key>" or the key in the ${options.apiKeyHeader} header.`);
  }
  // Checked on the raw values, before any parsing or hashing.
  if (keyHeader !== null && keyHeader.length > MAX_CREDENTIAL_BYTES) {
    throw invalid(`The ${options.apiKeyHeader} header is longer than ${MAX_CREDENTIAL_BYTES} bytes; no key is that long.`);
  }
  if (authorization !== null && authorization.length > MAX_CREDENTIAL_BYTES) {
    if (keyHeader !== null) {
      throw new KeywardError(
        "INVALID_USER_TOKEN",
        `The user token in Authorization is longer than ${MAX_CREDENTIAL_BYTES} bytes; sign in again to get a normal token.`,
        {
          bearerError: "invalid_token",
        },
      );
    }
    throw invalid(`The Authorization header is longer than ${MAX_CREDENTIAL_BYTES} bytes; no key is that long.`);
  }

  const authTokens = authorization === null ? [] : bearerTokens(authorization);
  if (authTokens.length > 1) {
    throw new KeywardError("INVALID_REQUEST", "Authorization carries two different credentials; send exactly one.");
  }
  const headerKeys = keyHeader === null ? [] : distinct(splitValues(keyHeader).filter((v) => v !== "")).map((v) => checkToken(v, options.apiKeyHeader));
  if (headerKeys.length > 1) {
    throw new KeywardError("INVALID_REQUEST", `${options.apiKeyHeader} carries two different keys; send exactly one.`);
  }

  const authToken = authTokens[0];
  const headerKey = headerKeys[0];
  const consumed = [...(authorization === null ? [] : ["authorization"]), ...(keyHeader === null ? [] : [options.apiKeyHeader])];

  // Keys never contain a dot; anything dotted is a (possibly malformed) user token,
  // which the token verifier then judges (401 INVALID_USER_TOKEN, never a key error).
  if (authToken?.includes(".")) {
    if (headerKey === undefined) {
      throw missing(`A user token was sent without an API key: send the key in the ${options.apiKeyHeader} header alongside it.`);
    }
    return { apiKey: headerKey, userToken: authToken, consumed };
  }
  if (authToken !== undefined && headerKey !== undefined && authToken !== headerKey) {
    throw new KeywardError(
      "INVALID_REQUEST",
      `Authorization and ${options.apiKeyHeader} carry two different keys; send one key (the same key in both is fine).`,
    );
  }
  const apiKey = authToken ?? headerKey;
  if (apiKey === undefined) {
    throw missing(`The ${options.apiKeyHeader} header is empty: send the API key in it.`);
  }
  return { apiKey, userToken: null, consumed };
}
