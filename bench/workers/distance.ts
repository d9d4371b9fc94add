/**
 * Simulated distance for the bench's latency mode (docs/performance.md), in the
 * bench's own Keyward build only: src/ never sees it. Every key's guard lives at
 * one home location. A call that crosses from another location to the home (a
 * gateway's check of a central key, a lease holder's ask) takes `farMs` longer; a
 * call within a location (a gateway to its location's lease holder, a gateway at
 * home to the guard) takes `nearMs` longer. Each is a round trip, waited once,
 * after the answer arrives: one timer per call, because on a busy machine every
 * timer's wake-up comes late, and two per call would count that lateness twice.
 * (The callee decides half a round trip early; no latency depends on that.)
 */

import { interceptNamespace } from "../../test-support/counting";

/** BENCH_DISTANCE (JSON): the guards' home, and the round trips added to far and near calls, in ms. */
export interface Distance {
  home: string;
  farMs: number;
  nearMs: number;
}

/** The service's distance, or null when it has none (every service but the latency mode's). */
export function distanceOf(text: string | undefined): Distance | null {
  if (text === undefined || text === "") return null;
  const d = JSON.parse(text) as Partial<Distance>;
  if (typeof d.home !== "string" || !(Number(d.farMs) >= 0) || !(Number(d.nearMs) >= 0)) {
    throw new Error(`BENCH_DISTANCE: expected {"home": "<location>", "farMs": <ms>, "nearMs": <ms>}, got ${text}`);
  }
  return { home: d.home, farMs: Number(d.farMs), nearMs: Number(d.nearMs) };
}

/** The round trip from `location` to the guards' home. */
export const toHome = (d: Distance, location: string): number => (location === d.home ? d.nearMs : d.farMs);

/**
 * The location a lease holder speaks for, read from what it sends its guard: an
 * ask or a hand-back names it (`holder`), a forwarded check carries `location`.
 */
export function callerLocation(arg: unknown, fallback: string): string {
  const a = arg as { holder?: unknown; location?: unknown } | null;
  if (typeof a?.holder === "string") return a.holder;
  if (typeof a?.location === "string") return a.location;
  return fallback;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Wraps a Durable Object namespace so that every RPC on its stubs takes the
 * round trip `roundTripMs(method, first argument)` longer. Stubs are otherwise
 * passed through unchanged. `observe` hears each call's whole duration, distance
 * included, as its caller waits for it.
 */
export function delayed<T>(real: T, roundTripMs: (method: string, arg: unknown) => number, observe?: (method: string, ms: number) => void): T {
  return interceptNamespace(real, async (method, args, call) => {
    const started = performance.now();
    const ms = roundTripMs(method, args[0]);
    const answer = await call();
    if (ms > 0) await sleep(ms);
    observe?.(method, performance.now() - started);
    return answer;
  });
}
