/**
 * The durable floor's per-key object (bench only: service `floor-many-durable`, scenario `floor-durable-N-keys`;
 * docs/performance.md). The floor's object keeps nothing, so waking it costs
 * nothing; the contract's guard must keep an exact window that survives its
 * eviction. This object does the least such a window must, and no more: a wake
 * reads the window's rows back in one statement, and each admission writes one
 * row before the verdict is answered. It mirrors the row pattern of Keyward's
 * sparse admission (src/guard/admission-log.ts: a pool of rows, the oldest reused
 * once it has left the window, one upsert per write) with none of Keyward's logic:
 * no schema version, settings, credits, usage, alarm, dedupe or signature.
 */
import { DurableObject } from "cloudflare:workers";
import { countWake } from "./storage-counts";

/** The many keys' window and limit (BIG_LIMIT in bench/lib/options.mjs): the window never fills. */
const WINDOW_MS = 60_000;
const LIMIT = 1_000_000_000;

const LOAD = "SELECT slot, at FROM admissions ORDER BY at";
const WRITE = "INSERT INTO admissions (slot, at) VALUES (?, ?) ON CONFLICT(slot) DO UPDATE SET at = excluded.at";

/** One row per admission, its slot reused once the admission has left the window. */
export class DurableFloorGuard extends DurableObject<object> {
  /** The rows of the admissions table, oldest first. */
  private readonly slots: { slot: number; at: number }[];

  constructor(ctx: DurableObjectState, env: object) {
    countWake(ctx); // before the read, so that the wake's statement is counted
    super(ctx, env);
    this.slots = load(ctx.storage.sql);
  }

  /**
   * Decides from the window and writes the admission's row before answering: the reply waits for
   * its commit (workerd's output gate). Keyward writes a sparse admission's row on the next tick,
   * after the verdict (admission-log.ts flushDelay); the statement and the row are the same.
   */
  check(_input: { requestId: string; consume: boolean }) {
    const now = Date.now();
    let inWindow = 0;
    for (const s of this.slots) if (s.at + WINDOW_MS > now) inWindow++;
    const verdict = { limit: LIMIT, windowSeconds: WINDOW_MS / 1000, resetMs: 0 };
    if (inWindow >= LIMIT) return { kind: "limited", remaining: 0, ...verdict } as const;
    const oldest = this.slots[0];
    const slot = oldest && oldest.at + WINDOW_MS <= now ? (this.slots.shift() as { slot: number }).slot : this.slots.length;
    this.slots.push({ slot, at: now });
    this.ctx.storage.sql.exec(WRITE, slot, now);
    return { kind: "admitted", remaining: LIMIT - inWindow - 1, ...verdict } as const;
  }
}

/** The window's rows, in one statement; a new object's first wake creates the table instead (no schema version to read). */
function load(sql: SqlStorage): { slot: number; at: number }[] {
  try {
    return sql
      .exec(LOAD)
      .toArray()
      .map((row) => ({ slot: Number(row.slot), at: Number(row.at) }));
  } catch {
    sql.exec("CREATE TABLE admissions (slot INTEGER PRIMARY KEY, at INTEGER NOT NULL)");
    return [];
  }
}
