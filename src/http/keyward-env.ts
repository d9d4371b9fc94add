/**
 * The Hono environment of every Keyward app and sub-app: the request id Keyward
 * assigns to each request (never the client's). In a module of its own so that
 * route modules (admin, console, leaks) need not import the app that mounts them.
 */
export type KeywardEnv = { Variables: { requestId: string } };
