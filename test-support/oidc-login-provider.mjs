// @ts-check
// A real OpenID provider (the `oidc-provider` package) that people sign in at
// with a browser: the authorization code flow with PKCE for one public client
// (the console), its development login and consent pages (any password works;
// the login names the person), and ID tokens carrying each person's org and role
// for the `org` scope.
//
// The issuer is http://localhost:<port> while Keyward runs on 127.0.0.1: two
// different sites, so the browser treats the provider's redirect back as a
// cross-site navigation, as it is in production.
import { randomBytes } from "node:crypto";
import { createServer } from "node:http";
import { exportJWK, generateKeyPair } from "jose";
import Provider from "oidc-provider";

export const CONSOLE_CLIENT_ID = "keyward-console";

/**
 * @param {{ people: Record<string, Record<string, unknown>> }} options  login -> claims of the `org` scope (org_id, org_role)
 */
export async function startLoginProvider({ people }) {
  const { privateKey } = await generateKeyPair("RS256", { extractable: true });
  const signingJwk = { ...(await exportJWK(privateKey)), kid: `login-${randomBytes(4).toString("hex")}`, alg: "RS256", use: "sig" };
  /** @type {(req: import("node:http").IncomingMessage, res: import("node:http").ServerResponse) => void} */
  let handler = (_req, res) => {
    res.writeHead(503).end();
  };
  /** @type {import("node:http").Server[]} */
  const servers = [];
  const listen = (port, host) =>
    new Promise((resolve, reject) => {
      const server = createServer((req, res) => handler(req, res));
      server.once("error", reject);
      server.listen(port, host, () => {
        servers.push(server);
        resolve(/** @type {import("node:net").AddressInfo} */ (server.address()).port);
      });
    });
  // localhost may resolve to either loopback address: listen on both, on one port.
  const port = await listen(0, "127.0.0.1");
  await listen(port, "::1").catch(() => {});
  const issuer = `http://localhost:${port}`;

  return {
    issuer,
    jwksUri: `${issuer}/jwks`,
    /** Registers the console's redirect URI (known once Keyward runs) and starts answering. */
    register(redirectUri) {
      const provider = new Provider(issuer, {
        clients: [
          {
            client_id: CONSOLE_CLIENT_ID,
            token_endpoint_auth_method: "none",
            grant_types: ["authorization_code"],
            response_types: ["code"],
            redirect_uris: [redirectUri],
          },
        ],
        jwks: { keys: [signingJwk] },
        claims: { openid: ["sub"], org: ["org_id", "org_role"] },
        // The org and role go into the ID token itself (not only userinfo).
        conformIdTokenClaims: false,
        findAccount: (_ctx, id) => ({ accountId: id, claims: () => ({ sub: id, ...people[id] }) }),
        features: { devInteractions: { enabled: true } },
        routes: { jwks: "/jwks" },
        cookies: { keys: [randomBytes(16).toString("hex")] },
      });
      provider.on("server_error", (_ctx, error) => console.error("oidc-provider server_error", error));
      handler = provider.callback();
    },
    close: () =>
      Promise.all(
        servers.map(
          (server) =>
            new Promise((resolve) => {
              server.closeAllConnections?.();
              server.close(() => resolve(undefined));
            }),
        ),
      ),
  };
}
