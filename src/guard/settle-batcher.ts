/**
 * One settlement for a key's guard: the hold of request `requestId`, with what
 * it cost. `fromHeader`: from the response's Keyward-Charge header, which nobody
 * waits on, so the guard may write it with its next batch (hold-settlement.ts).
 */
export interface SettleItem {
  requestId: string;
  charge: number;
  fromHeader?: true;
}

/** Sends one batch of a key's settlements to its guard on their own RPC; resolves once the guard has applied them. */
export type SendSettles = (keyId: string, items: SettleItem[]) => Promise<unknown>;

/** The most settlements one RPC carries; more wait for the next (a bound on the guard's turn and the message size). */
export const MAX_SETTLE_BATCH = 256;

/** How long a header settlement waits for a check of its key to carry it before it goes on an RPC of its own. */
export const CARRY_WAIT_MS = 50;

/**
 * A key's settlements carried on a check RPC: `answered` once that RPC answered
 * (the guard applied them before deciding), `failed` when it failed (each is
 * then queued again from its own request: a repeat changes nothing).
 */
export interface Carried {
  items: SettleItem[];
  answered(): void;
  failed(): void;
}

/**
 * What the request that queues a settlement hears of it. Plain callbacks, not a
 * promise: each is called from whichever request learns it (a carrier's, or the
 * key's timer's), and a promise of one request settled from another costs that
 * much more CPU in workerd (docs/performance.md).
 */
export interface SettleHooks {
  /** Its request's waitUntil: given the time that request holds the key's timer (see headerSettles). */
  keepAlive?: ((work: Promise<unknown>) => void) | undefined;
  /** The guard applied it. */
  applied?: () => void;
  /** Given up on once SETTLE_TRIES carriers lost it (its hold stays open until settled later or expired). */
  failed?: (error: unknown) => void;
}

/** An isolate's header settlements, per key (see headerSettles). */
export interface HeaderSettles {
  /** Queues a header settlement; `hooks` hears when the guard applied it, or that it was given up on. */
  settle(keyId: string, item: SettleItem, hooks?: SettleHooks): void;
  /** Takes the key's queued settlements (up to the batch bound) for a check RPC about to be sent; null: none. */
  carry(keyId: string): Carried | null;
}

/** Carriers a settlement may lose (failed, or never answered) before it is given up and logged. */
export const SETTLE_TRIES = 3;

/** How long one request holds a key's timer while the key keeps settling; the next settlement after it takes the timer over. */
export const HOST_MS = 1000;

export interface HeaderSettlesOptions {
  /** See CARRY_WAIT_MS. */
  waitMs?: number;
  /** A settlement taken by an RPC that has not answered in this time is queued again. */
  giveUpMs: number;
  maxBatch?: number;
}

interface Waiter {
  item: SettleItem;
  /** When it was queued (this time): it goes on an RPC of its own waitMs later, unless a check takes it first. */
  at: number;
  done: boolean;
  /** Carriers that failed or never answered so far. */
  failures: number;
  /** The carrier that took it last; null while queued. A loss reported by an older carrier is stale. */
  flight: Flight | null;
  hooks: SettleHooks | undefined;
}

/** Settlements taken by one RPC (a check, or a settle batch) that has not answered yet. */
interface Flight {
  waiters: Waiter[];
  at: number;
}

/** The request that holds a key's timer. */
interface Host {
  /** Ends its hold on its request (the promise given to its keepAlive). */
  release: () => void;
  /** No longer the key's host (another took over, or nothing is left to watch). */
  quit: boolean;
  /** Settle RPCs it sent that have not answered: its request stays until they have. */
  sending: number;
}

/** A key's settlements in this isolate. */
interface Lane {
  queue: Waiter[];
  flights: Set<Flight>;
  /** Holds the key's timer while anything is queued or in flight (null: nothing is). */
  host: Host | null;
  /** When the host's timer is due, and when it became the host. */
  due: number;
  since: number;
}

/**
 * Coalesces one isolate's header settlements per key (docs/metering.md,
 * "Settling from the response"). A settlement waits up to CARRY_WAIT_MS in its
 * key's queue: the key's next check RPC from this isolate takes every queued
 * one with it (the guard applies them before it decides), so a busy key costs
 * about one guard RPC per request. Should no check come in time, the key's
 * timer sends the queue on one settle RPC of its own.
 *
 * Workers tie I/O and timers to the request that made them, and cancel what a
 * finished request left. One request at a time holds a key's timer (its host,
 * kept open with its waitUntil): the first settlement queued while the key has
 * none. The timer fires at least every waitMs while anything is queued or
 * taken by an RPC not yet answered; each time it sends what waited waitMs, and
 * queues again what an RPC took giveUpMs ago without an answer (its request
 * was cancelled: a lost carrier never strands a key's queue). So a busy key
 * arms about one timer per waitMs, not one per settlement. A host holds the
 * timer while nothing else is queued, or for HOST_MS (the next settlement then
 * takes it over), so no request is held past a Worker's waitUntil limit.
 * A settlement is queued again, too, when its carrier failed (a guard
 * overloaded for a moment: one more RPC per settlement would add to it), and
 * given up (its `failed` hook logs it) once SETTLE_TRIES carriers lost it.
 * Nothing of a settlement runs in its own request once it is queued, unless
 * that request holds the key's timer: it need not wait for it.
 */
export function headerSettles(send: SendSettles, options: HeaderSettlesOptions): HeaderSettles {
  const waitMs = options.waitMs ?? CARRY_WAIT_MS;
  const maxBatch = options.maxBatch ?? MAX_SETTLE_BATCH;
  const { giveUpMs } = options;
  const lanes = new Map<string, Lane>();

  /** Takes up to maxBatch queued settlements of a lane, oldest first, as one flight. */
  function take(lane: Lane, now: number): Flight {
    const all = lane.queue;
    const waiters = all.length <= maxBatch ? all : all.splice(0, maxBatch);
    if (waiters === all) lane.queue = [];
    const flight: Flight = { waiters, at: now };
    for (const w of waiters) w.flight = flight;
    lane.flights.add(flight);
    return flight;
  }

  const itemsOf = (flight: Flight) => flight.waiters.map((w) => w.item);

  /** The guard applied a flight (even one given up on: a repeat changes nothing). */
  const answered = (lane: Lane, flight: Flight) => {
    lane.flights.delete(flight);
    for (const w of flight.waiters) {
      if (w.done) continue;
      w.done = true;
      w.hooks?.applied?.();
    }
  };

  /** A flight failed or never answered: each of its settlements queued again, or given up after SETTLE_TRIES. */
  const lost = (lane: Lane, flight: Flight, error: unknown, now: number) => {
    if (!lane.flights.delete(flight)) return; // already answered, or given up on
    for (const w of flight.waiters) {
      if (w.done || w.flight !== flight) continue; // a stale carrier: queued again already
      if (++w.failures < SETTLE_TRIES) {
        w.flight = null;
        w.at = now;
        lane.queue.push(w); // the lane keeps its host while a flight is out, so this is watched
        continue;
      }
      w.done = true;
      w.hooks?.failed?.(error);
    }
  };

  const release = (host: Host) => {
    if (host.quit && host.sending === 0) host.release();
  };

  /** Arms the key's timer in the host's request: at once in settle, or from its own timer. */
  const arm = (keyId: string, lane: Lane, host: Host, delay: number, now: number) => {
    lane.due = now + delay;
    setTimeout(() => tick(keyId, lane, host), delay);
  };

  /** The key's timer, in its host's request. */
  function tick(keyId: string, lane: Lane, host: Host): void {
    if (lane.host !== host) {
      host.quit = true;
      release(host);
      return;
    }
    const now = Date.now();
    for (const f of lane.flights) if (now - f.at >= giveUpMs) lost(lane, f, new Error("no answer from the guard"), now);
    const head = lane.queue[0];
    if (head !== undefined && now - head.at >= waitMs) {
      // From this request, which stays until the RPC answers (host.sending).
      const flight = take(lane, now);
      host.sending++;
      send(keyId, itemsOf(flight)).then(
        () => {
          answered(lane, flight);
          host.sending--;
          release(host);
        },
        (error: unknown) => {
          lost(lane, flight, error, Date.now());
          host.sending--;
          release(host);
        },
      );
    }
    // At most waitMs away, so a settlement queued after this tick is still sent on time.
    let next = now + waitMs;
    const first = lane.queue[0];
    if (first !== undefined) next = Math.min(next, first.at + waitMs);
    for (const f of lane.flights) next = Math.min(next, f.at + giveUpMs);
    if (lane.queue.length > 0 || lane.flights.size > 0) {
      arm(keyId, lane, host, Math.max(0, next - now), now);
      return;
    }
    lane.host = null;
    lanes.delete(keyId);
    host.quit = true;
    release(host);
  }

  return {
    settle: (keyId, item, hooks) => {
      // In the settlement's own request: so is the key's timer, should this request take it.
      const now = Date.now();
      let lane = lanes.get(keyId);
      if (lane === undefined) {
        lane = { queue: [], flights: new Set(), host: null, due: 0, since: 0 };
        lanes.set(keyId, lane);
      }
      lane.queue.push({ item, at: now, done: false, failures: 0, flight: null, hooks });
      // No host, one past its term, or one whose timer is long overdue (its request gone): this request takes the timer.
      if (lane.host !== null && now - lane.since < HOST_MS && now <= lane.due + waitMs) return;
      const host: Host = { release: () => {}, quit: false, sending: 0 };
      hooks?.keepAlive?.(
        new Promise<void>((r) => {
          host.release = r;
        }),
      );
      lane.host = host;
      lane.since = now;
      arm(keyId, lane, host, waitMs, now);
    },

    carry: (keyId) => {
      const lane = lanes.get(keyId);
      if (lane === undefined || lane.queue.length === 0) return null;
      const flight = take(lane, Date.now());
      return {
        items: itemsOf(flight),
        answered: () => answered(lane, flight),
        failed: () => lost(lane, flight, new Error("the check carrying it failed"), Date.now()),
      };
    },
  };
}
