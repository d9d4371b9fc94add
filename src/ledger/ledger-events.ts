/**
 * How the ledger's changes reach the org: the audit log (append-only,
 * audit-log.ts) and the org's webhook queue (webhook-store.ts), delivered by the
 * alarm (ledger-alarm.ts), never on a request's path. OrgLedger holds one as a
 * `#` member: none of this is an RPC method (test/rpc-surface.test.ts).
 */
import { randomId } from "../keys/key-format";
import type { AnomalyFinding } from "../usage/anomaly-rules";
import type { WebhookEventType } from "../webhooks/webhook-events";
import { enqueue } from "../webhooks/webhook-store";
import { type Anomaly, upsertAnomaly } from "./anomaly-store";
import { type AuditEvent, appendAudit } from "./audit-log";
import { type Outbound, REAL_OUTBOUND } from "./ledger-alarm";

/** What queuing needs of the alarm: to be woken by `at`. */
interface Waker {
  wakeAt(at: number): void;
}

export class LedgerEvents {
  /** The clock and the network as webhook delivery sees them; tests replace them (OrgLedger.hooks). */
  outbound: Outbound = REAL_OUTBOUND;
  readonly #sql: SqlStorage;
  readonly #jobs: Waker;

  constructor(sql: SqlStorage, jobs: Waker) {
    this.#sql = sql;
    this.#jobs = jobs;
  }

  /**
   * THE way to raise an event for the org's webhook (audit, anomalies, expiry notices, anything
   * added later): queued in the caller's transaction when there is one, delivered by the alarm,
   * never on a request's path. Answers the delivery id (webhook-id), or null when no webhook takes it.
   */
  enqueue(type: WebhookEventType, data: { keyId: string } & Record<string, unknown>, at: number = this.outbound.now()): string | null {
    const id = enqueue(this.#sql, type, data, at);
    if (id !== null) this.#jobs.wakeAt(at);
    return id;
  }

  /** Appends one audit event, and queues it for the webhook when it is also a webhook event. */
  audit(event: AuditEvent): void {
    const hook = appendAudit(this.#sql, event);
    if (hook !== null) this.enqueue(hook.type, hook.data, event.at);
  }

  /**
   * The one place an anomaly is raised: opens a flag, or updates the open one
   * of that type for the key. Anything that must follow a raised anomaly (a
   * notification, a webhook event) belongs here and nowhere else.
   */
  raiseAnomaly(keyId: string, finding: AnomalyFinding, at: number): { anomaly: Anomaly; opened: boolean } {
    const raised = upsertAnomaly(this.#sql, keyId, finding, at, () => randomId("anm"));
    // Announced once per flag, when it opens (updates of an open flag are not news).
    if (raised.opened) this.enqueue("usage.anomaly", { keyId, anomaly: raised.anomaly }, at);
    return raised;
  }
}
