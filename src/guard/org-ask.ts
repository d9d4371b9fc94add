/** A key guard asking its org's guard to agree to an admission (org-limit.ts, org-credits.ts). */
import type { GuardRoom } from "./guard-room";
import { units } from "./guard-room";
import type { GuardState } from "./guard-state";
import type { GuardCheck, GuardVerdict } from "./guard-types";
import { orgCreditsSettings } from "./org-credits";
import { confirmWithOrg, type OrgGuards, orgGuardSettings } from "./org-limit";

/** What the org's guard is given past a key's hold: the key's settlement or expiry always reaches it first. */
export const ORG_HOLD_GRACE_MS = 60_000;

/** Asks the org's guard (org-limit.ts); a refusal or a failure takes this key's admission back, credits refunded. */
export function askOrg(
  room: GuardRoom,
  guards: OrgGuards,
  state: GuardState,
  input: GuardCheck,
  verdict: GuardVerdict & { kind: "admitted" },
): Promise<GuardVerdict> {
  const stamp = input.noWindow ? null : room.log.window.latest();
  const cost = units(input);
  room.counters.orgCalls++;
  const org = state.orgLimit?.org ?? (state.orgCredits as string);
  const check: GuardCheck = {
    requestId: input.requestId,
    consume: true,
    // The shared limit's settings carry its version; credits alone never replace them (org-credits.ts).
    settings: state.orgLimit !== null ? orgGuardSettings(state.orgLimit) : orgCreditsSettings(org),
    cost,
    ...(state.orgLimit === null ? { noWindow: true } : {}),
    // The org's hold outlives the key's, so the key's settlement or expiry always reaches it first.
    ...(input.hold ? { hold: { reserve: input.hold.reserve, holdMs: input.hold.holdMs + ORG_HOLD_GRACE_MS } } : {}),
  };
  // Other requests on this key may be decided while it waits: each is taken back by its own stamp.
  return confirmWithOrg(guards, check, verdict, () => {
    const held = room.meter.book.find(input.requestId)?.charge === null;
    room.counters.rowsWritten += room.meter.unadmit(input.requestId);
    room.log.unadmit(room.state, stamp, cost);
    // A hold was written with its balance: the refund is written the same way.
    if (held) room.writeState();
    room.counters.admitted--;
    room.counters.refused++;
  });
}
