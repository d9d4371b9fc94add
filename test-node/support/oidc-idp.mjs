// @ts-check
// A real OpenID provider (the `oidc-provider` package) on 127.0.0.1, issuing JWT
// access tokens through the client credentials grant: one client per person, each
// token carrying that person's org, role and assigned customers (extraTokenClaims).
import { randomBytes } from "node:crypto";
import { createServer } from "node:http";
import { exportJWK, generateKeyPair } from "jose";
import Provider from "oidc-provider";

/**
 * @param {{ audience: string, people: Record<string, Record<string, unknown>>, onRequest?: (req: import("node:http").IncomingMessage) => void }} options
 *   people: client id -> the extra claims of its tokens (org_id, role, customer_ids, ...)
 *   onRequest: sees every request the provider gets (to count JWKS fetches)
 */
export async function startIdentityProvider({ audience, people, onRequest }) {
  const { privateKey } = await generateKeyPair("RS256", { extractable: true });
  const signingJwk = { ...(await exportJWK(privateKey)), kid: `e2e-${randomBytes(4).toString("hex")}`, alg: "RS256", use: "sig" };

  // Listen first, so that the issuer can carry the port the OS picked.
  let handler = (_req, res) => {
    res.writeHead(503).end();
  };
  const server = createServer((req, res) => {
    onRequest?.(req);
    handler(req, res);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(undefined)));
  const issuer = `http://127.0.0.1:${/** @type {import("node:net").AddressInfo} */ (server.address()).port}`;

  const secrets = Object.fromEntries(Object.keys(people).map((id) => [id, randomBytes(24).toString("hex")]));
  const provider = new Provider(issuer, {
    clients: Object.keys(people).map((id) => ({
      client_id: id,
      client_secret: secrets[id],
      grant_types: ["client_credentials"],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: "client_secret_post",
    })),
    jwks: { keys: [signingJwk] },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => audience,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, resource) => {
          if (resource !== audience) throw new Error(`unknown resource ${resource}`);
          return { scope: "api", audience, accessTokenFormat: "jwt", accessTokenTTL: 300, jwt: { sign: { alg: "RS256" } } };
        },
      },
    },
    ttl: { ClientCredentials: 300 },
    extraTokenClaims: (_ctx, token) => people[token.clientId],
  });
  provider.on("server_error", (_ctx, error) => console.error("oidc-provider server_error", error));
  handler = provider.callback();

  const discovery = await (await fetch(`${issuer}/.well-known/openid-configuration`)).json();
  let issued = 0;
  return {
    issuer,
    jwksUri: discovery.jwks_uri,
    tokenEndpoint: discovery.token_endpoint,
    get issued() {
      return issued;
    },
    /** A JWT access token for one of the people, from the token endpoint. */
    async token(clientId) {
      const res = await fetch(discovery.token_endpoint, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ grant_type: "client_credentials", client_id: clientId, client_secret: secrets[clientId], resource: audience }),
      });
      const body = await res.json();
      if (res.status !== 200) throw new Error(`token endpoint answered ${res.status}: ${JSON.stringify(body)}`);
      issued++;
      return body.access_token;
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve(undefined));
      }),
  };
}
