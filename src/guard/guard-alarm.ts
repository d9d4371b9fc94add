/** The key guard's alarm work: due revocations, expired holds, the usage report, and the storage's end. */
import type { GuardRoom } from "./guard-room";
import { applyDueRevocation } from "./guard-state";
import { expireHolds, type HoldGuards } from "./hold-settlement";

/**
 * The alarm's work at `now`: applies a scheduled revocation that is due, and
 * reports usage when a report is due (never more than once a REPORT_PERIOD_MS).
 * alarm() passes the clock; tests pass a fake one.
 */
export async function runAlarm(room: GuardRoom, guards: HoldGuards, now: number): Promise<void> {
  if (room.ended) return;
  if (applyDueRevocation(room.state, now)) room.writeState();
  // Holds never settled are charged their reserve; closed ones past their keeping are forgotten.
  await expireHolds(room, guards, room.meter.book.due(now), now);
  room.counters.rowsWritten += room.meter.book.prune(room.ctx.storage.sql, now, room.meter.keepMs);
  // Requests may be decided while the report is on its way; they count into the next one.
  room.counters.rowsWritten += await room.reporter.reportIfDue(now);
  if (await endIfDue(room, now)) return;
  await room.rearm();
}

/**
 * Deletes the guard's storage, alarm included, once its purpose is over
 * (storage-end.ts); true when it did. Unreported usage goes first: the alarm's
 * report runs before this, and a guard with counts still to report waits.
 */
async function endIfDue(room: GuardRoom, now: number): Promise<boolean> {
  if (room.meter.book.open > 0) return false; // an open hold still moves money
  const settled = () => room.reporter.nextReportAt() === null;
  if (!(await room.end.due(room.state, room.lastUsedAt, room.reporter.usage.org, now, settled))) return false;
  // Admissions still pending and a usage row still to save are past use once the storage ends
  // (the counts are reported); their timers must not write into the emptied storage.
  room.log.unschedule();
  room.reporter.carried();
  await room.ctx.storage.deleteAll();
  room.ended = true;
  room.state = null;
  return true;
}
