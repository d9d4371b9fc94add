import type { LedgerKey } from "../ledger/key-store";
import type { LedgerClient } from "../ledger/ledger-client";

/** Every key of the org (of one environment), page by page: the kill switch and the org limit must see them all. */
export async function everyKey(ledger: LedgerClient, org: string, environment: "live" | "test" | null, now: () => number): Promise<LedgerKey[]> {
  const keys: LedgerKey[] = [];
  let cursor: string | null = null;
  do {
    const page: { keys: LedgerKey[]; nextCursor: string | null } = await ledger.listKeyPage(org, {
      org,
      limit: 1000,
      cursor,
      status: null,
      environment,
      q: null,
      sort: "created",
      now: now(),
    });
    keys.push(...page.keys);
    cursor = page.nextCursor;
  } while (cursor !== null);
  return keys;
}
