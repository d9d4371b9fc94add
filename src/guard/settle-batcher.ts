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

/** An isolate's header settlements, per key (see headerSettles). */
export interface HeaderSettles {
  /** Queues a header settlement; resolves once the guard has applied it, rejects when it could not be sent. */
  settle(keyId: string, item: SettleItem): Promise<void>;
  /** Takes the key's queued settlements (up to the batch bound) for a check RPC about to be sent; null: none. */
  carry(keyId: string): Carried | null;
}

interface Waiter {
  item: SettleItem;
  /** Taken by a check or a batch RPC (no longer queued). */
  taken: boolean;
  done: boolean;
  /** Carriers that failed or never answered so far. */
  failures: number;
  /** The queueing this waiter is in (each requeue starts a new one; older timers and carriers then do nothing). */
  round: number;
  /** The settlements taken with this one (by the same carrier). */
  batch: Waiter[];
  resolve: () => void;
  reject: (error: unknown) => void;
  /** Signals this waiter in its own request (a promise made there): queue again, or watch its key's queue. */
  signal: (what: "again" | "watch") => void;
}

/** Carriers a settlement may lose (failed, or never answered) before it is given up and logged. */
export const SETTLE_TRIES = 3;

export interface HeaderSettlesOptions {
  /** See CARRY_WAIT_MS. */
  waitMs?: number;
  /** A settlement taken by an RPC that has not answered in this time (after waitMs) is queued again. */
  giveUpMs: number;
  maxBatch?: number;
}

/**
 * Coalesces one isolate's header settlements per key (docs/metering.md,
 * "Settling from the response"). A settlement waits up to CARRY_WAIT_MS in its
 * key's queue: the key's next check RPC from this isolate takes every queued
 * one with it (the guard applies them before it decides), so a busy key costs
 * about one guard RPC per request. Should no check come in time, the oldest
 * waiting sends the queue on one settle RPC of its own.
 *
 * Workers tie I/O to the request that started it and cancel what a finished or
 * cancelled request left running; a promise's continuation runs in the request
 * that made the promise. A settlement's own request (its waitUntil) stays until
 * it resolves, so every timer and every resend below is made in that request.
 * A settlement carried by another request's RPC waits on that RPC, which its
 * request needs for its own answer; should that request be cancelled and its
 * RPC never answer, the settlement is queued again from its own request after
 * `giveUpMs` (so a lost carrier never strands a key's queue, nor its holds).
 * A settlement is queued again, too, when its carrier failed (a guard
 * overloaded for a moment: one more RPC per settlement would add to it), and
 * given up (rejected, so its request logs it) once SETTLE_TRIES carriers lost it.
 */
export function headerSettles(send: SendSettles, options: HeaderSettlesOptions): HeaderSettles {
  const waitMs = options.waitMs ?? CARRY_WAIT_MS;
  const maxBatch = options.maxBatch ?? MAX_SETTLE_BATCH;
  const queues = new Map<string, Waiter[]>();

  /** Takes up to maxBatch queued settlements of a key, `first` first when given; the first one left, if any, watches the rest. */
  function take(keyId: string, first?: Waiter): Waiter[] {
    const queue = queues.get(keyId) ?? [];
    const batch = first === undefined ? [] : [first];
    const rest = first === undefined ? queue : queue.filter((w) => w !== first);
    batch.push(...rest.splice(0, maxBatch - batch.length));
    if (rest.length === 0) queues.delete(keyId);
    else {
      queues.set(keyId, rest);
      rest[0]?.signal("watch");
    }
    for (const w of batch) {
      w.taken = true;
      w.batch = batch;
    }
    return batch;
  }

  const answered = (batch: Waiter[]) => {
    for (const w of batch) {
      w.done = true;
      w.resolve();
    }
  };

  /** A carrier of `w` failed or never answered: queued again from its own request, or given up after SETTLE_TRIES. */
  const lost = (w: Waiter, error: unknown, round: number) => {
    if (w.done || w.round !== round) return; // a stale carrier: this one is queued again already
    if (++w.failures < SETTLE_TRIES) {
      w.signal("again");
      return;
    }
    w.done = true;
    w.reject(error);
  };

  /** Each of a carrier's settlements lost, as each was when taken. */
  const carrierLost = (batch: Waiter[], error: unknown) => {
    const rounds = batch.map((o) => o.round);
    return () => {
      for (const [i, o] of batch.entries()) lost(o, error, rounds[i] as number);
    };
  };

  /** Sends a key's queue (`first` first) on one settle RPC, from the request of `first`. */
  const sendBatch = (keyId: string, first: Waiter) => {
    const batch = take(keyId, first);
    send(
      keyId,
      batch.map((o) => o.item),
    ).then(
      () => answered(batch),
      (error: unknown) => carrierLost(batch, error)(),
    );
  };

  return {
    settle: (keyId, item) => {
      let timer: ReturnType<typeof setTimeout> | null = null;
      const settled = new Promise<void>((resolve, reject) => {
        const w: Waiter = { item, taken: false, done: false, failures: 0, round: 0, batch: [], resolve, reject, signal: () => {} };
        // Everything below runs in this request: at first, then as continuations of promises made here.
        const listen = () => {
          new Promise<"again" | "watch">((go) => {
            w.signal = go;
          }).then((what) => {
            listen();
            if (what === "again") enqueue();
            else watch(w.round);
          });
        };
        // One timer per queue, in the request of its first settlement (timers cost; see docs/performance.md):
        // no check came within waitMs, so it sends the queue; then, until its carrier answers, giveUpMs more.
        const watch = (round: number) => {
          timer = setTimeout(() => {
            if (w.done || w.round !== round) return;
            if (!w.taken) sendBatch(keyId, w);
            // Its carrier never answered (that request cancelled): each one it took is queued again. A repeat changes nothing.
            timer = setTimeout(carrierLost(w.batch, new Error("no answer from the guard")), options.giveUpMs);
          }, waitMs);
        };
        const enqueue = () => {
          if (w.done) return;
          w.round++;
          w.taken = false;
          const queue = queues.get(keyId);
          if (queue !== undefined) return void queue.push(w);
          queues.set(keyId, [w]);
          watch(w.round);
        };
        listen();
        enqueue();
      });
      // In this request: its timer ends with its settlement.
      return settled.finally(() => {
        if (timer !== null) clearTimeout(timer);
      });
    },

    carry: (keyId) => {
      if (!queues.has(keyId)) return null;
      const batch = take(keyId);
      return {
        items: batch.map((w) => w.item),
        answered: () => answered(batch),
        failed: carrierLost(batch, new Error("the check carrying it failed")),
      };
    },
  };
}
