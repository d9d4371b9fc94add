import { settleBounded } from "../bounded";
import { DELIVERY_TIMEOUT_MS, deliver } from "../webhooks/deliver";
import { dueExpiryNotices, nextExpiryNoticeAt, type WebhookEventType } from "../webhooks/webhook-events";
import { abandonPending, dueDeliveries, nextDeliveryAt, pruneDeliveries, readWebhook, recordAttempt } from "../webhooks/webhook-store";
import { type AuditEvent, SCHEDULE_ACTOR } from "./audit-log";
import type { KeyChange } from "./key-store";

/** The clock and the network as webhook delivery sees them (tests drive both). */
export interface Outbound {
  now: () => number;
  fetch: typeof fetch;
  timeoutMs: number;
}

/** The real clock and network. */
export const REAL_OUTBOUND: Outbound = { now: () => Date.now(), fetch: (input, init) => fetch(input, init), timeoutMs: DELIVERY_TIMEOUT_MS };

/** Queues a webhook event (OrgLedger's #enqueueEvent); answers the delivery id, or null when no webhook takes it. */
export type EnqueueEvent = (type: WebhookEventType, data: { keyId: string } & Record<string, unknown>, at?: number) => string | null;

/** What the alarm asks of its ledger. */
export interface LedgerAlarmHost {
  outbound(): Outbound;
  /** A key's change with its audit event, in one transaction (OrgLedger.updateKey). */
  updateKey(id: string, change: KeyChange, event: AuditEvent): void;
  /** Queues a webhook event (OrgLedger's #enqueueEvent). */
  enqueueEvent(type: WebhookEventType, data: { keyId: string } & Record<string, unknown>, at: number): string | null;
}

/**
 * The ledger's one alarm and its three jobs: scheduled revocations that came
 * due, expiry notices, and webhook deliveries. Nothing here runs on a request's
 * path; a request only moves the alarm earlier (wakeAt).
 */
export class LedgerAlarm {
  /** The earliest wake-up already being set, so that a batch of events (the kill switch) sets the alarm once. */
  private waking: number | null = null;

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly host: LedgerAlarmHost,
  ) {}

  /**
   * Delivers what is due (at-least-once: a delivery is marked only after its
   * receiver answered 2xx, so a crash mid-attempt means it is sent again with
   * the same webhook-id), raises expiry notices that have come due, and sets
   * the alarm for the next thing to do.
   */
  async run(): Promise<void> {
    const sql = this.ctx.storage.sql;
    const now = this.host.outbound().now();
    this.recordDueRevocations(now);
    const hook = readWebhook(sql);
    if (hook?.events.includes("key.expiring")) this.raiseExpiryNotices(now);
    const due = dueDeliveries(sql, now, 100);
    if (hook === null) {
      abandonPending(sql, "no webhook configured", now);
    } else {
      // Requests may change the ledger while deliveries are on their way; each attempt updates only its own row.
      await settleBounded(due, 8, async (d) => {
        const { fetch, timeoutMs } = this.host.outbound();
        const outcome = await deliver({ url: hook.url, secret: hook.secret, id: d.id, payload: d.payload, now, timeoutMs }, fetch);
        recordAttempt(sql, d, outcome, this.host.outbound().now());
      });
    }
    pruneDeliveries(sql, now);
    await this.schedule();
  }

  /**
   * A scheduled revocation (rotation with a grace period) takes effect at its
   * time without anyone calling: the guards and the gateway already refuse the
   * key from then on (they compare `revokeAt` with their clock). What remains is
   * the book of record: the key becomes revoked at that time, and the audit log
   * and the webhook get the `key.revoked` an immediate revocation would have
   * given, with the time it took effect. Each key once: its row no longer has a
   * pending `revoke_at` after this.
   */
  private recordDueRevocations(now: number): void {
    const rows = this.ctx.storage.sql
      .exec("SELECT id, revoke_at FROM keys WHERE revoked_at IS NULL AND revoke_at IS NOT NULL AND revoke_at <= ?", now)
      .toArray();
    for (const row of rows) {
      const id = String(row.id);
      const at = Number(row.revoke_at);
      this.host.updateKey(
        id,
        { revokedAt: at, revokeAt: null },
        {
          at,
          actor: SCHEDULE_ACTOR,
          action: "key.revoked",
          keyId: id,
          // No request made it; the id names the alarm's run, so the entry reads like any other.
          requestId: `schedule-${now}`,
          detail: { scheduled: true, recordedAt: new Date(now).toISOString() },
        },
      );
    }
  }

  private raiseExpiryNotices(now: number): void {
    const rows = this.ctx.storage.sql
      .exec("SELECT id, created_at, expires_at, expiry_notices FROM keys WHERE expires_at IS NOT NULL AND revoked_at IS NULL AND expires_at > ?", now)
      .toArray();
    for (const row of rows) {
      const key = { createdAt: Number(row.created_at), expiresAt: Number(row.expires_at) };
      const sent = Number(row.expiry_notices);
      const { due, sent: next } = dueExpiryNotices(key, sent, now);
      if (next === sent) continue;
      this.ctx.storage.transactionSync(() => {
        this.ctx.storage.sql.exec("UPDATE keys SET expiry_notices = ? WHERE id = ?", next, String(row.id));
        for (const notice of due) {
          this.host.enqueueEvent("key.expiring", { keyId: String(row.id), expiresAt: new Date(key.expiresAt).toISOString(), notice }, now);
        }
      });
    }
  }

  /** Sets the alarm for the next due delivery, scheduled revocation or expiry notice (none: no alarm). */
  async schedule(): Promise<void> {
    const sql = this.ctx.storage.sql;
    const now = this.host.outbound().now();
    let next = nextDeliveryAt(sql);
    const revocation = sql.exec("SELECT MIN(revoke_at) AS at FROM keys WHERE revoked_at IS NULL AND revoke_at IS NOT NULL").toArray()[0];
    if (revocation?.at !== null && revocation?.at !== undefined) next = Math.min(next ?? Number.POSITIVE_INFINITY, Math.max(now, Number(revocation.at)));
    if (readWebhook(sql)?.events.includes("key.expiring")) {
      const rows = sql
        .exec("SELECT created_at, expires_at, expiry_notices FROM keys WHERE expires_at IS NOT NULL AND revoked_at IS NULL AND expires_at > ?", now)
        .toArray();
      for (const row of rows) {
        const at = nextExpiryNoticeAt({ createdAt: Number(row.created_at), expiresAt: Number(row.expires_at) }, Number(row.expiry_notices), now);
        if (at !== null && (next === null || at < next)) next = at;
      }
    }
    if (next === null) await this.ctx.storage.deleteAlarm();
    else await this.ctx.storage.setAlarm(next);
  }

  /** Makes sure the alarm fires no later than `at` (without waiting on the caller's path). */
  wakeAt(at: number): void {
    if (this.waking !== null && this.waking <= at) return;
    this.waking = at;
    void (async () => {
      const current = await this.ctx.storage.getAlarm();
      if (current === null || current > at) await this.ctx.storage.setAlarm(at);
    })()
      .catch(() => {})
      .finally(() => {
        if (this.waking === at) this.waking = null;
      });
  }
}
