/**
 * The key's shapes and rules that more than one layer needs. Scope names are
 * also the character set of user-token permissions (src/authz/authorizer.ts):
 * both travel in `X-Keyward-Permissions`, separated by spaces, so neither may
 * contain a space or anything else a header or an origin's split would read
 * differently.
 */
export const SCOPE_PATTERN = /^[A-Za-z0-9:_.*-]{1,64}$/;
/** What SCOPE_PATTERN allows, in words, for error messages and docs. */
export const SCOPE_RULE = "1-64 letters, digits or :_.*-";
