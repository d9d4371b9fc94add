/** Rejects with `TimeoutError` if `promise` has not settled within `ms`. */
export class TimeoutError extends Error {
  constructor(what: string, ms: number) {
    super(`${what} did not answer within ${ms} ms`);
    this.name = "TimeoutError";
  }
}

export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(what, ms)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}

/**
 * The deadlines of one request (the guard's answer, then the origin's) on a
 * single timer: two timers per request, each set and cleared, were a measurable
 * share of Keyward's CPU (docs/performance.md). The timer is armed for the
 * earliest deadline in force. A later deadline keeps it, and when it fires early
 * it is armed once more for the rest, which only happens when a wait outlasts an
 * earlier deadline (an origin slower than the guard's timeout).
 */
export class RequestDeadlines {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private firesAt = Number.POSITIVE_INFINITY;
  private waiting: { at: number; expire: () => void } | null = null;

  /** Settles as `promise` does, or rejects with `expired()` once `ms` have passed. One wait at a time. */
  race<T>(promise: Promise<T>, ms: number, expired: () => Error): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const at = Date.now() + ms;
      const wait = { at, expire: () => reject(expired()) };
      this.waiting = wait;
      if (this.timer === undefined || at < this.firesAt) this.arm(at);
      promise.then(
        (value) => {
          if (this.waiting === wait) this.waiting = null;
          resolve(value);
        },
        (error) => {
          if (this.waiting === wait) this.waiting = null;
          reject(error);
        },
      );
    });
  }

  /** Stops the timer: call once the request no longer waits. */
  clear(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.waiting = null;
  }

  private arm(at: number): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.firesAt = at;
    this.timer = setTimeout(() => this.fired(), Math.max(0, at - Date.now()));
  }

  private fired(): void {
    this.timer = undefined;
    const wait = this.waiting;
    if (wait === null) return;
    // Timers fire on time or late, never early: 1 ms absorbs clock rounding.
    if (Date.now() + 1 >= wait.at) {
      this.waiting = null;
      wait.expire();
    } else {
      this.arm(wait.at);
    }
  }
}
