/**
 * KeyGuard with bench-only verbs, bound as BENCH_GUARD in the bench's Keyward
 * services (bench/lib/workerd.mjs) and never in Keyward's own Worker: its
 * constructor run again on its own storage (what waking an evicted guard does),
 * and, for the cost phase's quiet request (report-cost.ts), its clock moved on
 * since its last report and its setAlarm calls counted. The guard's test hooks
 * are no RPC methods of KeyGuard (test/rpc-surface.test.ts), so the bench reaches
 * them here, through the static KeyGuard.hooks.
 */
import type { Env } from "../../src/env";
import { KeyGuard } from "../../src/guard/key-guard";
import { onSetAlarm } from "./storage-counts";

export class BenchGuard extends KeyGuard {
  private alarmSets = 0;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    onSetAlarm(ctx.storage, () => this.alarmSets++);
  }

  construct(times: number): number {
    for (let i = 0; i < times; i++) new KeyGuard(this.ctx, this.env);
    return times;
  }

  /** The last usage report `ms` ago, saved, and no alarm pending: the guard as a key quiet that long finds it on its next request. */
  async quietFor(ms: number): Promise<void> {
    const { room } = KeyGuard.hooks(this);
    room.reporter.usage.reportedAt = Date.now() - ms;
    room.reporter.save();
    await this.ctx.storage.deleteAlarm();
    room.schedule.fired();
  }

  /** setAlarm calls since this instance started, and the stored alarm's time. */
  async alarms(): Promise<{ sets: number; at: number | null }> {
    return { sets: this.alarmSets, at: await this.ctx.storage.getAlarm() };
  }

  /** Writes pending admissions now. */
  flushNow(): void {
    KeyGuard.hooks(this).flush();
  }

  /** The alarm's work at a clock of the bench's (a report due a minute on). */
  alarmAt(now: number): Promise<void> {
    return KeyGuard.hooks(this).runAlarm(now);
  }
}
