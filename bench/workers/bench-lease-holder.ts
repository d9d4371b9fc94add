/**
 * The bench's lease holder: src/guard/lease-holder.ts unchanged, except that in
 * the latency mode (BENCH_DISTANCE) its calls to the key's guard cross the
 * simulated distance from the holder's location to the guards' home
 * (bench/workers/distance.ts). Without BENCH_DISTANCE it is the production class,
 * plus counts() for the bench's reads.
 */
import { type HolderCounts, LeaseHolder, type LeaseHolderEnv } from "../../src/guard/lease-holder";
import { callerLocation, delayed, distanceOf, toHome } from "./distance";

export class BenchLeaseHolder extends LeaseHolder {
  constructor(ctx: DurableObjectState, env: LeaseHolderEnv & { BENCH_DISTANCE?: string }) {
    const d = distanceOf(env.BENCH_DISTANCE);
    super(ctx, d === null ? env : { ...env, KEY_GUARD: delayed(env.KEY_GUARD, (_method, arg) => toHome(d, callerLocation(arg, d.home))) });
  }

  /** Bench only: the holder's counts (a test hook of LeaseHolder, no RPC method of it), for /__bench/holders. */
  counts(): HolderCounts {
    return LeaseHolder.hooks(this).describe();
  }
}
