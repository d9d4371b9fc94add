import type { SettleResult } from "../metering/holds";

/** One settlement for a key's guard: the hold of request `requestId`, with what it cost. */
export interface SettleItem {
  requestId: string;
  charge: number;
}

/** Sends one batch of a key's settlements to its guard; answers one result per item, in the same order. */
export type SendSettles = (keyId: string, items: SettleItem[]) => Promise<SettleResult[]>;

/** The most settlements one RPC carries; more wait for the next (a bound on the guard's turn and the message size). */
export const MAX_SETTLE_BATCH = 256;

interface Waiter {
  item: SettleItem;
  resolve: (result: SettleResult) => void;
  reject: (error: unknown) => void;
  /** Asks this waiter to send the next batch, from its own request (see settleBatcher). */
  lead: () => void;
  /** In a batch sent. */
  sent: boolean;
}

interface Lane {
  inFlight: boolean;
  waiting: Waiter[];
}

/**
 * Coalesces one isolate's settlements per key (docs/metering.md, "Settling"):
 * at most one settle RPC per key is in flight; settlements arriving meanwhile
 * wait, and go together as one batch RPC when it returns. Each settlement's
 * promise resolves when the batch that carries it has been answered, so a caller
 * that hands it to waitUntil keeps its request alive until its own hold is
 * settled, as with one RPC per settlement. A failed batch rejects every
 * settlement in it (each caller logs its own); those holds expire as documented.
 *
 * Workers tie I/O to the request that started it and cancel what a finished or
 * cancelled request left running, and a promise's continuation runs in the
 * request that made the promise. So a batch is only ever sent from a request
 * whose own settlement is in it (that request stays open until the batch
 * answers): by a settlement that finds no batch in flight, or, when a batch
 * answers, by the first waiting settlement whose request can still run (each is
 * asked, through a promise made in its own request).
 */
export function settleBatcher(send: SendSettles, maxBatch = MAX_SETTLE_BATCH): (keyId: string, item: SettleItem) => Promise<SettleResult> {
  const lanes = new Map<string, Lane>();

  /** Sends the waiting settlements (up to maxBatch) unless a batch is in flight. Runs in the request of the first one. */
  function dispatch(keyId: string, lane: Lane): void {
    if (lane.inFlight || lane.waiting.length === 0) return;
    const batch = lane.waiting.splice(0, maxBatch);
    for (const w of batch) w.sent = true;
    lane.inFlight = true;
    const answered = (settle: (w: Waiter, i: number) => void) => {
      lane.inFlight = false;
      if (lane.waiting.length === 0) lanes.delete(keyId);
      // Every waiter is asked; the first whose request still runs sends the next batch, the others find it in flight.
      else for (const w of lane.waiting) w.lead();
      batch.forEach(settle);
    };
    Promise.resolve()
      .then(() =>
        send(
          keyId,
          batch.map((w) => w.item),
        ),
      )
      .then(
        (results) =>
          answered((w, i) => {
            const result = results[i];
            if (result === undefined) w.reject(new Error(`the guard answered ${results.length} results for ${batch.length} settlements`));
            else w.resolve(result);
          }),
        (error: unknown) => answered((w) => w.reject(error)),
      );
  }

  return (keyId, item) =>
    new Promise<SettleResult>((resolve, reject) => {
      let lane = lanes.get(keyId);
      if (lane === undefined) {
        lane = { inFlight: false, waiting: [] };
        lanes.set(keyId, lane);
      }
      const at = lane;
      const waiter: Waiter = { item, resolve, reject, lead: () => {}, sent: false };
      at.waiting.push(waiter);
      dispatch(keyId, at);
      // Waiting: a promise of this request for each time it is asked (a full batch may leave it waiting again).
      const ask = (): void => {
        new Promise<void>((go) => {
          waiter.lead = go;
        }).then(() => {
          dispatch(keyId, at);
          if (!waiter.sent) ask();
        });
      };
      if (!waiter.sent) ask();
    });
}
