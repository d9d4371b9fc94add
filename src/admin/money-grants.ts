import { KeywardError } from "../errors";
import type { Actor } from "./admin-auth";

/**
 * Who may grant money (docs/contract.md, "Who may do what"). The operator is the
 * seller: only it gives an org something to spend. An org admin is the customer:
 * it may divide what its org bought among its keys, which it can do only when the
 * org has org credits (then a key's own credits are a cap inside them, and every
 * request still spends from the org's). Without org credits a key's credits are
 * the money itself, so an org admin's grant would be the customer paying itself.
 *
 * Taking money away (decrement) is never a grant.
 */
export type MoneyChange = "create-with-credits" | "increment" | "set";

/** Throws 403 INSUFFICIENT_PERMISSIONS unless the actor may make this change in an org with (or without) org credits. */
export function requireMoneyGrant(actor: Actor, change: MoneyChange, orgHasCredits: boolean): void {
  if (actor.kind === "operator" || orgHasCredits) return;
  const what =
    change === "create-with-credits"
      ? "Creating a key with credits"
      : change === "increment"
        ? "Adding credits to a key"
        : "Setting a key's credits (or making it unlimited)";
  throw new KeywardError(
    "INSUFFICIENT_PERMISSIONS",
    `${what} grants money, which only the operator does for an organisation without org credits. Ask the operator for credits; create keys without credits, or decrement a key's credits, yourself.`,
  );
}
