/**
 * The guard's one alarm, set to the earliest of its jobs (a scheduled
 * revocation, the next usage report). It remembers the time it set, so that a
 * request does not set the same alarm again: a storage write per request for a
 * key used less often than it is evicted, before the stored time was read on wake.
 */
export class AlarmSchedule {
  /** The stored alarm's time (read on wake, then as this instance sets it); null: none. */
  private at: number | null = null;

  constructor(private readonly ctx: DurableObjectState) {}

  /** Reads the stored alarm before the object serves anything. */
  load(): void {
    void this.ctx.blockConcurrencyWhile(async () => {
      this.at = await this.ctx.storage.getAlarm();
    });
  }

  /** True when no alarm is known to be set. */
  get unset(): boolean {
    return this.at === null;
  }

  /** The alarm ran: none is set now. */
  fired(): void {
    this.at = null;
  }

  /** Sets the alarm to the earliest of `times` (null: that job has nothing to do); no write when it is set there already. */
  async set(...times: (number | null)[]): Promise<void> {
    const at = Math.min(...times.map((t) => t ?? Number.POSITIVE_INFINITY));
    if (at === Number.POSITIVE_INFINITY || at === this.at) return;
    this.at = at;
    await this.ctx.storage.setAlarm(at);
  }

  /**
   * Sets the alarm to `at` unless it is set no later already (a job added; never a scan of the others).
   * Not async: a metered admission calls it every time, and nearly always there is nothing to do.
   */
  earlier(at: number): Promise<void> | undefined {
    if (this.at !== null && this.at <= at) return undefined;
    this.at = at;
    return this.ctx.storage.setAlarm(at);
  }
}
