import type { KeyView } from "../../admin/api-types";

type Holds = NonNullable<KeyView["holds"]>;
type HoldItem = Holds["open"][number];

const count = (n: number) => n.toLocaleString("en-US");

/** "3 holds in flight (12,288 reserved)" or "none in flight": a metered key's open holds in a few words. */
export function holdsInFlightText(holds: Holds): string {
  if (holds.open.length === 0) return "none in flight";
  const reserved = holds.open.reduce((sum, h) => sum + h.reserve, 0);
  return `${holds.open.length} hold${holds.open.length === 1 ? "" : "s"} in flight (${count(reserved)} reserved)`;
}

/** One closed hold: "charged 812 of 4,096 (settled)", "charged 4,096 (expired unsettled)", with what the balance could not cover. */
export function settlementText(h: HoldItem): string {
  const how = h.closedBy === "expiry" ? "expired unsettled" : "settled";
  const charged = h.closedBy === "expiry" ? count(h.charge ?? h.reserve) : `${count(h.charge ?? 0)} of ${count(h.reserve)}`;
  return `charged ${charged} (${how})${h.uncharged > 0 ? `, ${count(h.uncharged)} over the balance not charged` : ""}`;
}
