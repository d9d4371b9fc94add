/** Exit codes: 0 success, 1 the request failed (server error, network), 2 usage or local configuration. */
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** A failure the CLI reports as one message on stderr and an exit code. */
export class CliError extends Error {
  /**
   * @param {string} message  printed to stderr (must never contain a token or key)
   * @param {{ exitCode?: number, usage?: string, hint?: string }} [options]
   */
  constructor(message, options = {}) {
    super(message);
    this.name = "CliError";
    this.exitCode = options.exitCode ?? EXIT_FAILURE;
    /** Usage text printed after the message (usage errors). */
    this.usage = options.usage;
    /** One more line of advice. */
    this.hint = options.hint;
    /** @type {number | undefined} HTTP status, when the server answered */
    this.status = undefined;
    /** @type {string | undefined} Keyward error code, when the server sent one */
    this.code = undefined;
  }
}

/**
 * A usage error: exit 2 with the command's usage text.
 * @param {string} message
 * @param {string} [usage]
 */
export function usageError(message, usage) {
  return new CliError(message, { exitCode: EXIT_USAGE, usage });
}
