// @ts-check
// What a key costs per million requests in four traffic regimes, for Keyward and
// the peer: everything Cloudflare bills for it (Durable Object requests including
// alarms, rows written including usage reports and the ledger's, KV reads, and
// Durable Object duration). docs/performance.md ("Cost in four traffic regimes")
// says how each figure is made and cites the pricing rule.
//
// The busy regime is measured: a paced run at BUSY_RATE on one key. The slower
// ones cannot be waited for (an hour per request), so they are computed from
// operations counted per request, per usage report and per limiter window in the
// cost phase, scaled by how often each happens at that rate.

/** Requests a second on one key. */
export const BUSY_RATE = 300;
export const REGIMES = [
  { id: "busy", perSecond: BUSY_RATE },
  { id: "1-per-second", perSecond: 1 },
  { id: "1-per-minute", perSecond: 1 / 60 },
  { id: "1-per-hour", perSecond: 1 / 3600 },
];

/**
 * USD per million, Workers Paid, beyond the included usage
 * (https://developers.cloudflare.com/durable-objects/platform/pricing/ and the
 * KV and SQLite storage prices there): duration at $12.50 per million GB-s,
 * billed for 128 MB per object while it runs or cannot hibernate.
 */
export const PRICES = { kvRead: 0.5, doRequest: 0.15, rowWritten: 1.0, gbSecond: 12.5 };
/** GB billed per active object: 128 MB, counted as 0.128 GB as the pricing page's examples do. */
export const DO_GB = 0.128;
/** The peer's window in the bench (its keys' rateLimit.windowSeconds). */
const PEER_WINDOW_S = 60;

const price = (op) => op.kvReads * PRICES.kvRead + op.doRequests * PRICES.doRequest + op.rowsWritten * PRICES.rowWritten + op.gbSeconds * PRICES.gbSecond;

/**
 * Keyward on one key at `r` requests a second.
 * - Request: one guard call; one KV read per key per isolate per cache TTL (at
 *   most one per request, at least what the busy run counted); rows as counted
 *   (the busy run's batched flushes, or one row per sparse admission).
 * - Usage report: one per period at most (a minute for a busy key, 4.5 minutes for a
 *   quiet one: src/usage/usage-report.ts), so min(1, 1 / (r x period)) per request; each one alarm invocation plus the calls to the ledger counted, the
 *   guard's usage row, one setAlarm (the first unreported request arms it) and the
 *   ledger's rows, weighted by how often a report opens a new hour or a new day.
 * - A key whose requests are further apart than the quiet period (1 an hour):
 *   keywardQuietRequest, from a quiet request counted end to end.
 * - Duration: a guard cannot hibernate while its flush timer (FLUSH_DELAY) is
 *   pending, so a busy guard is billed all the time (1 / r seconds per request),
 *   a sparse one for its check and its sparse flush delay (0 since 2026-12-06:
 *   written on the next tick; 250 ms before); a report adds the alarm's wall time
 *   (the guard waits for the ledger) and the ledger's.
 */
export function keywardPerRequest(r, m) {
  const quietPeriodMs = m.quietReportPeriodMs ?? m.reportPeriodMs;
  // Requests further apart than the quiet report period: each is priced as the quiet request was counted end to end.
  if (m.report.quiet && 1 / r >= quietPeriodMs / 1000) return keywardQuietRequest(r, m);
  const busy = r >= 1 / (m.flushDelayMs / 1000);
  const path = busy ? m.busy : m.sparse;
  // A key whose report carries BUSY_REPORT_REQUESTS or more reports once a period; a quieter one once a quiet period.
  const periodMs = r * (m.reportPeriodMs / 1000) >= (m.busyReportRequests ?? 0) ? m.reportPeriodMs : (m.quietReportPeriodMs ?? m.reportPeriodMs);
  const reports = Math.min(1, 1 / (r * (periodMs / 1000)));
  const perHour = Math.min(3_600_000 / periodMs, 3600 * r);
  const newDay = Math.min(1, 1 / (24 * perHour));
  const newHour = Math.min(1, 1 / perHour);
  // Each day row a key writes is deleted 90 days on (pruneRows), once per new day.
  const ledgerRows =
    m.report.ledgerRows.sameHour * (1 - newHour) +
    m.report.ledgerRows.newHour * (newHour - newDay) +
    (m.report.ledgerRows.newDay + (m.report.pruneRows ?? 0)) * newDay;
  const reportRows = m.report.guardRows + m.report.alarmWrites + ledgerRows;
  const sparseDelayMs = m.sparseFlushDelayMs ?? m.flushDelayMs;
  const activeSeconds =
    Math.min(1 / r, ((busy ? m.flushDelayMs : sparseDelayMs) + m.report.checkMs) / 1000) + reports * ((m.report.alarmMs + m.report.ledgerMs) / 1000);
  return {
    kvReads: Math.min(1, Math.max(m.busy.kvReads, 1 / (r * (m.cacheTtlMs / 1000)))),
    doRequests: path.doRequests + reports * (1 + m.report.ledgerCalls),
    rowsWritten: path.rowsWritten + reports * reportRows,
    gbSeconds: activeSeconds * DO_GB,
    reportsPerRequest: reports,
  };
}

/**
 * Keyward on a key whose requests are further apart than its quiet report period
 * (1 an hour): every request is one such quiet request, priced as `m.report.quiet`
 * counted it end to end (its check, its report however the code sends it: any
 * alarm set and run, the calls to the ledger, every row on both sides), with the
 * ledger's rows of a report opening a new day (and the prune of a day row 90 days
 * on) in place of the counted same-day ones once in 24 x the requests an hour.
 * Duration: the guard from its check until the report is at the ledger, and the
 * ledger's own time for the report.
 */
function keywardQuietRequest(r, m) {
  const q = m.report.quiet;
  const newDay = Math.min(1, 1 / (24 * 3600 * r));
  const ledgerRows = q.ledgerRows * (1 - newDay) + (m.report.ledgerRows.newDay + (m.report.pruneRows ?? 0)) * newDay;
  return {
    kvReads: Math.min(1, Math.max(m.busy.kvReads, 1 / (r * (m.cacheTtlMs / 1000)))),
    doRequests: q.doRequests,
    rowsWritten: q.guardRows + q.alarmWrites + ledgerRows,
    gbSeconds: ((q.wallMs + m.report.ledgerMs) / 1000) * DO_GB,
    reportsPerRequest: q.ledgerCalls,
  };
}

/**
 * The peer on one key at `r` requests a second: a KV read, a limiter call and
 * its put on every request (the busy run's counts); a window of PEER_WINDOW_S
 * opened per min(1, 1 / (r x window)) requests, each window costing what the
 * one-window-per-request run counted above the busy run (its setAlarm, the
 * alarm's invocation and its reset put). Duration: the limiter keeps no timer,
 * so it is billed only while it handles a call or its alarm.
 */
export function peerPerRequest(r, m) {
  const windows = Math.min(1, 1 / (r * PEER_WINDOW_S));
  const extra = (field) => Math.max(0, m.window[field] - m.busy[field]);
  return {
    kvReads: m.busy.kvReads,
    doRequests: m.busy.doRequests + windows * extra("doRequests"),
    rowsWritten: m.busy.rowsWritten + windows * extra("rowsWritten"),
    gbSeconds: ((m.wall.updateMs + windows * m.wall.alarmMs) / 1000) * DO_GB,
    windowsPerRequest: windows,
  };
}

/** Every regime for both gateways: per-request operations and dollars per million requests. */
export function priceRegimes({ keyward, peer }) {
  const rows = [];
  for (const regime of REGIMES) {
    for (const [gateway, perRequest] of [
      ["keyward", keywardPerRequest(regime.perSecond, keyward)],
      ["peer", peerPerRequest(regime.perSecond, peer)],
    ]) {
      rows.push({ gateway, regime: regime.id, perSecond: regime.perSecond, perRequest, dollarsPerMillion: price(perRequest) });
    }
  }
  return { inputs: { keyward, peer }, prices: PRICES, doGb: DO_GB, rows };
}

/** The lines run.mjs prints, one per regime and gateway. */
export function regimeLines(costRegimes) {
  return costRegimes.rows.map((row) => `cost per million ${row.gateway}/${row.regime}: ${row.dollarsPerMillion.toFixed(3)}`);
}

/** The markdown table for latest.md. */
export function regimeTable(costRegimes) {
  const f = (x, d = 3) => (Number.isFinite(x) ? x.toFixed(d) : "n/a");
  const k = costRegimes.inputs.keyward;
  const p = costRegimes.inputs.peer;
  const lines = [
    "| gateway | regime | KV reads/req | DO requests/req | rows written/req | DO GB-s/req | $ per M requests |",
    "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ...costRegimes.rows.map(
      (r) =>
        `| ${r.gateway} | ${r.regime} | ${f(r.perRequest.kvReads)} | ${f(r.perRequest.doRequests)} | ${f(r.perRequest.rowsWritten)} | ${f(r.perRequest.gbSeconds, 5)} | ${f(r.dollarsPerMillion)} |`,
    ),
    "",
    `Inputs counted in this run: Keyward busy (${BUSY_RATE}/s) ${f(k.busy.kvReads)} KV / ${f(k.busy.doRequests)} DO / ${f(k.busy.rowsWritten)} rows per request, sparse ${f(k.sparse.doRequests)} DO / ${f(k.sparse.rowsWritten)} rows; a usage report: ${k.report.ledgerCalls} ledger call(s), guard ${k.report.guardRows} row(s) + ${k.report.alarmWrites} setAlarm, ledger ${k.report.ledgerRows.first} rows (a key's first report), ${k.report.ledgerRows.sameHour} (same hour), ${k.report.ledgerRows.newHour} (new hour), ${k.report.ledgerRows.newDay} (new day); ${k.report.quiet ? `a quiet request (its key's last report an hour old) ${k.report.quiet.doRequests} DO (${k.report.quiet.alarms} alarm, ${k.report.quiet.ledgerCalls} ledger call) / guard ${k.report.quiet.guardRows} row(s) + ${k.report.quiet.alarmWrites} setAlarm / ledger ${k.report.quiet.ledgerRows} rows, ${f(k.report.quiet.wallMs, 1)} ms until the report is in; ` : ""}a day row's prune ${k.report.pruneRows ?? "n/a"} rows; report period ${k.reportPeriodMs / 1000} s (quiet ${(k.quietReportPeriodMs ?? k.reportPeriodMs) / 1000} s, below ${k.busyReportRequests ?? 0} requests a report), flush delay ${k.flushDelayMs} ms (sparse ${k.sparseFlushDelayMs ?? k.flushDelayMs} ms), KV cache ${k.cacheTtlMs / 1000} s; wall ms: check ${f(k.report.checkMs, 1)}, alarm ${f(k.report.alarmMs, 1)}, ledger report ${f(k.report.ledgerMs, 1)}. Peer busy ${f(p.busy.kvReads)} KV / ${f(p.busy.doRequests)} DO / ${f(p.busy.rowsWritten)} rows per request, one window per request ${f(p.window.doRequests)} DO / ${f(p.window.rowsWritten)} rows; wall ms: update ${f(p.wall.updateMs, 1)}, alarm ${f(p.wall.alarmMs, 1)}.`,
  ];
  return lines.join("\n");
}
