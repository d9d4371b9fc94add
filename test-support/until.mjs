// @ts-check
/**
 * Polls `check` until it is truthy and resolves with its value; fails after `ms`,
 * naming `what` it waited for. For the tests that wait on something Keyward does
 * later (a webhook delivery, an alarm's revocation).
 * @template T
 * @param {() => T | Promise<T>} check
 * @param {string} what
 * @param {{ ms?: number, everyMs?: number }} [options]
 * @returns {Promise<T>}
 */
export async function until(check, what, { ms = 15_000, everyMs = 100 } = {}) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
