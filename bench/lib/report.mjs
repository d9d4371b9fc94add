// @ts-check
// Markdown rendering of a bench report (the JSON file holds every number).
import { regimeTable } from "./cost-regimes.mjs";
import { fmt, fmtRange, median } from "./stats.mjs";

const row = (cells) => `| ${cells.join(" | ")} |`;
const signed = (x) => (Number.isFinite(x) ? `${x >= 0 ? "+" : ""}${x.toFixed(0)}` : "n/a");

function throughputTable(table, labels) {
  const lines = [
    row([
      "scenario",
      "conns",
      "req/s median (min–max)",
      "× pass-through",
      "× floor",
      "p50 ms",
      "p50 ×",
      "p99 ms",
      "p99 ×",
      "workerd CPU µs/req",
      "CPU over floor µs/req",
    ]),
    row(["---", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:"]),
  ];
  for (const t of table) {
    lines.push(
      row([
        labels[t.scenario] ?? t.scenario,
        t.connections,
        fmtRange(t.rps),
        fmtRange(t.rpsRatio, 2),
        t.floor ? fmtRange(t.floor.rpsRatio, 2) : "–",
        fmt(t.p50.median, 2),
        fmtRange(t.p50Ratio, 2),
        fmt(t.p99.median, 2),
        fmtRange(t.p99Ratio, 2),
        fmt(t.workerdMicrosPerRequest) + (t.non2xx || t.errors ? ` ⚠ ${t.non2xx} non-2xx, ${t.errors} errors` : ""),
        t.floor ? signed(t.floor.cpuOverFloor.median) : "–",
      ]),
    );
  }
  return lines.join("\n");
}

/**
 * What per-key usage counting costs the hot key: two fresh twin services that
 * differ only in USAGE_COUNTING, measured in the same rounds. The ratio is the
 * median of the per-round ratios (each round's pair ran back to back), which
 * cancels most of a shared machine's drift; rows per admitted request come from
 * the cost phase.
 */
function usageCountingLine(report) {
  const on = report.throughput.overall["keyward-hot-counted"];
  const off = report.throughput.overall["keyward-hot-nousage"];
  if (!on || !off) return null;
  const runsOf = (id) => report.runs.filter((r) => r.scenario === id);
  const offRun = new Map(runsOf("keyward-hot-nousage").map((r) => [`${r.round}|${r.connections}`, r]));
  const pairs = runsOf("keyward-hot-counted")
    .map((r) => [r, offRun.get(`${r.round}|${r.connections}`)])
    .filter(([, b]) => b);
  const ratios = pairs.map(([a, b]) => a.rps / b.rps);
  const cpuRatios = pairs.map(([a, b]) => a.cpuMicrosPerRequest.workerd / b.cpuMicrosPerRequest.workerd);
  const ratio = median(ratios);
  const cost = (gateway) => report.cost.find((c) => c.gateway === gateway && c.kind === "admitted");
  const rows = (g) => (cost(g) ? fmt(cost(g).perRequest.rowsWritten, 4) : "–");
  const rps = (id) => median(runsOf(id).map((r) => r.rps));
  const cpu = (id) => median(runsOf(id).map((r) => r.cpuMicrosPerRequest.workerd));
  return `Usage counting (hot key, twin services, same rounds): ${fmt(rps("keyward-hot-counted"))} req/s counted vs ${fmt(rps("keyward-hot-nousage"))} req/s with USAGE_COUNTING=off; throughput ratio ${fmt(ratio, 3)} (median of ${ratios.length} paired rounds, range ${fmt(Math.min(...ratios), 3)}–${fmt(Math.max(...ratios), 3)}), ${ratio >= 0.95 ? "within" : "NOT within"} 5%; workerd CPU ${fmt(cpu("keyward-hot-counted"))} vs ${fmt(cpu("keyward-hot-nousage"))} µs per request (paired ratio ${fmt(median(cpuRatios), 3)}); rows written per admitted request ${rows("keyward")} vs ${rows("keyward-nousage")}.`;
}

/**
 * The headline table, in the shape of README's: one column per gateway, the
 * floor ratios and what Keyward adds over its floor. Paste from latest.md.
 */
function summaryTable(report) {
  const overall = report.throughput.overall;
  const manyId = report.scenarios.find((s) => /^keyward-\d+-keys$/.test(s.id))?.id;
  const columns = [
    ["keyward-hot-key", "Keyward, hot key"],
    [manyId, manyId ? `Keyward, ${manyId.replace(/^keyward-(\d+)-keys$/, "$1")} keys` : ""],
    ["peer", "peer"],
    ["keyward-service-origin", "Keyward, service-binding origin"],
  ].filter(([id]) => id && overall[id]);
  if (columns.length === 0) return null;
  const cpu = (id) => median(report.runs.filter((r) => r.scenario === id).map((r) => r.cpuMicrosPerRequest.workerd));
  const cost = (gateway, kind) => report.cost.find((c) => c.gateway === gateway && c.kind === kind);
  const accuracy = (limiter) => report.accuracy.find((a) => a.limiter === limiter && a.pattern === "burst");
  /** @type {[string, (id: string) => string][]} */
  const rows = [
    ["requests/s ÷ pass-through (median, range over runs)", (id) => fmtRange(overall[id].rpsRatio, 2)],
    ["requests/s ÷ its floor", (id) => (overall[id].floorRatio ? `**${fmtRange(overall[id].floorRatio, 2)}**` : "")],
    ["workerd CPU µs per request (median)", (id) => fmt(cpu(id))],
    ["CPU µs per request over its floor", (id) => (overall[id].cpuOverFloor ? signed(overall[id].cpuOverFloor.median) : "")],
    [
      "floor's CPU ÷ Keyward's (the throughput ratio on a saturated thread)",
      (id) => (overall[id].floorCpu ? fmt(overall[id].floorCpu.median / overall[id].cpu.median, 2) : ""),
    ],
    [
      "over-admission, burst across a window edge",
      (id) => {
        const a = accuracy(id === "keyward-hot-key" ? "keyward" : id);
        return a ? `${fmt(a.overAdmissionPercent)}%` : "";
      },
    ],
    [
      "KV reads / DO requests / rows written per admitted request (busy key)",
      (id) => {
        const c = cost(id === "keyward-hot-key" ? "keyward" : id, "admitted");
        return c ? `${fmt(c.perRequest.kvReads, 3)} / ${fmt(c.perRequest.doRequests, 3)} / ${fmt(c.perRequest.rowsWritten, 3)}` : "";
      },
    ],
    [
      "$ per million admitted / refused (429) requests",
      (id) => {
        const g = id === "keyward-hot-key" ? "keyward" : id;
        const a = cost(g, "admitted");
        const r = cost(g, "refused (429)");
        return a && r ? `$${fmt(a.dollarsPerMillion, 2)} / $${fmt(r.dollarsPerMillion, 2)}` : "";
      },
    ],
  ];
  const lines = [row(["", ...columns.map(([, label]) => label)]), row(["---", ...columns.map(() => "---:")])];
  for (const [label, cell] of rows) {
    const cells = columns.map(([id]) => cell(id));
    if (cells.some((c) => c !== "")) lines.push(row([label, ...cells]));
  }
  const c = report.coldStart;
  if (c) {
    const k = c.summary.keyward;
    const p = c.summary["pass-through"];
    lines.push("");
    lines.push(
      `Cold start (fresh workerd, medians of ${c.samples.keyward.length}): Keyward listens after ${fmt(k.listenCpuMs)} ms of CPU (pass-through ${fmt(p.listenCpuMs)}) and answers its first request with ${fmt(k.firstCpuMs, 1)} ms of CPU (pass-through ${fmt(p.firstCpuMs, 1)}); deploy bundle ${fmt(c.bundle.modules[0].bytes / 1024)} KiB, ${fmt(c.bundle.modules[0].gzipBytes / 1024)} KiB gzip.`,
    );
  }
  return lines.join("\n");
}

export function renderMarkdown(report) {
  const { machine, plan } = report;
  const labels = Object.fromEntries(report.scenarios.map((s) => [s.id, `${s.id}`]));
  const out = [];
  out.push(`# Keyward bench (${report.mode}), ${report.generatedAt}`);
  out.push("");
  out.push(
    `Machine: ${machine.nproc} cores (${machine.cpu}), ${machine.memoryGiB} GiB, ${machine.platform}; node ${machine.node}; workerd ${machine.workerd}; open files ${machine.openFileLimit.hard}. Run took ${report.durationSeconds} s.`,
  );
  out.push("");
  const headline = report.throughput.table.length > 0 ? summaryTable(report) : null;
  if (headline) {
    out.push(`## Summary\n\n${headline}\n`);
  }
  // Printed whenever both twins ran, with or without the headline's scenarios.
  const usage = report.throughput.table.length > 0 ? usageCountingLine(report) : null;
  if (usage) out.push(`${usage}\n`);
  out.push("Scenarios:");
  for (const s of report.scenarios) out.push(`- \`${s.id}\`: ${s.label}`);
  out.push("");
  if (report.throughput.table.length > 0) {
    out.push(
      `## Throughput and latency\n\n${plan.rounds} rounds, interleaved; ${plan.seconds} s measured per run after ${plan.warmup} s of warm-up. Ratios are to pass-through in the same round and concurrency; median (min–max) over rounds. Latency: 2xx responses, as seen by the load generator.\n`,
    );
    out.push(throughputTable(report.throughput.table, labels));
    out.push("");
    out.push("Overall (median over all rounds and concurrencies of requests/s ÷ pass-through):");
    out.push("");
    for (const [id, o] of Object.entries(report.throughput.overall)) {
      if (id !== "pass-through") out.push(`- ${id}: ${fmtRange(o.rpsRatio, 2)}`);
    }
    out.push("");
    const floors = Object.entries(report.throughput.overall).filter(([, o]) => o.floorRatio);
    if (floors.length > 0) {
      out.push("Against the design's floor (same round and concurrency; median (min–max) over all of them):");
      out.push("");
      for (const [id, o] of floors) {
        out.push(
          `- ${id} ÷ ${o.floor}: **${fmtRange(o.floorRatio, 2)}**; workerd CPU ${fmt(o.cpu.median)} vs ${fmt(o.floorCpu.median)} µs/req, Keyward adds ${signed(o.cpuOverFloor.median)} (${signed(o.cpuOverFloor.min)} to ${signed(o.cpuOverFloor.max)})`,
        );
        const d = o.durableFloor;
        if (d) {
          out.push(
            `- ${id} ÷ ${d.id} (the floor with a durable window per key): **${fmtRange(d.rpsRatio, 2)}**; workerd CPU ${fmt(d.cpu.median)} µs/req for the durable floor, Keyward adds ${signed(d.cpuOver.median)} (${signed(d.cpuOver.min)} to ${signed(d.cpuOver.max)})`,
          );
        }
      }
      out.push("");
    }
    if ((report.throughput.deferred ?? []).length > 0) {
      out.push(
        "Deferred work: workerd CPU spent outside a many-keys scenario's measured runs on what its requests left behind: after its sweep (which leaves a usage report due on every key 5 s later; the runs start once workerd is idle again) and after its last run, during the wait for its guards' next reports (a guard reports at most once a minute, 5 s after its first unreported request, so up to 65 s later) and until workerd was idle. Per request of the sweep and the runs; median over rounds:",
      );
      out.push("");
      for (const d of report.throughput.deferred) out.push(`- after ${d.scenario}: ${fmt(d.microsPerRequest)} µs per request`);
      out.push("");
    }
  }
  if (report.micro) {
    out.push("## The request path's pieces (--micro)\n");
    out.push(
      "Each operation repeated in a loop inside the gateway's isolate (one request to `/__bench/micro`), workerd's CPU time read before and after, no profiler attached; the empty loop's cost subtracted. Median of 3 samples of about 0.6 s of CPU each. `app-*` is Keyward's whole app with an origin answered in the isolate (no network); `rpc-*` one guard round trip each, sequential (no batching of concurrent calls).\n",
    );
    out.push("| operation | µs of workerd CPU |\n| --- | ---: |");
    for (const m of report.micro.slice(1)) out.push(`| ${m.op} | ${fmt(m.overLoop, 1)} |`);
    out.push("");
  }
  if (report.profile) {
    out.push(`## Profile: Keyward variants (c=${report.profile.connections})\n`);
    out.push(throughputTable(report.profile.table, {}));
    out.push("");
    out.push(
      "CPU profile of each gateway's isolate (V8 sampling profiler via workerd's inspector; the Durable Objects run in the same isolate). µs of self time per request; a native call is charged either to its own entry (`native: …`) or to the JS function that makes it. `(idle)`: the isolate's thread outside JS (workerd's C++: HTTP, RPC, storage, or waiting).\n",
    );
    for (const p of report.profile.cpu) {
      const parts = Object.entries(p.microsPerRequest)
        .filter(([, v]) => v >= 3)
        .map(([k, v]) => `${k} ${fmt(v)}`);
      out.push(`- **${p.scenario}**: ${fmt(p.rps)} req/s, workerd CPU ${fmt(p.workerdMicrosPerRequest)} µs/req. ${parts.join("; ")}.`);
    }
    out.push("");
    for (const split of report.profile.floorSplit ?? []) {
      out.push(
        `### What ${split.scenario} adds over ${split.floor}

workerd CPU ${fmt(split.workerd.keyward)} vs ${fmt(split.workerd.floor)} µs/req (${signed(split.workerd.keyward - split.workerd.floor)})${split.wakes?.keyward == null ? "" : `, objects woken per request ${split.wakes.keyward.toFixed(2)} vs ${(split.wakes.floor ?? 0).toFixed(2)}`}; profile buckets, µs of self time per request:
`,
      );
      out.push(row(["bucket", split.scenario, split.floor, "difference"]));
      out.push(row(["---", "---:", "---:", "---:"]));
      for (const r of split.rows) out.push(row([r.bucket, fmt(r.keyward), fmt(r.floor), signed(r.delta)]));
      out.push("");
      if (split.stages) {
        out.push("By stage of the request (a sample counts with the first stage any frame of its stack is in; bench/lib/cpuprofile.mjs STAGES):\n");
        out.push(row(["stage", split.scenario, split.floor, "difference"]));
        out.push(row(["---", "---:", "---:", "---:"]));
        for (const r of split.stages) out.push(row([r.stage, fmt(r.keyward), fmt(r.floor), signed(r.delta)]));
        out.push("");
      }
    }
  }
  if (report.coldStart) {
    const c = report.coldStart;
    out.push(
      `## Cold start

${c.samples.keyward?.length ?? 0} fresh workerd processes per Worker, alternating. "listening": from spawning workerd until its socket listens (workerd has compiled the Worker's modules and run their top-level code by then); "first response": the first request after that (Keyward builds its app, reads the key from KV, creates its guard, imports the signing key); "second": the next one. CPU: workerd's threads' CPU time over the same span (/proc schedstat), which other load on the machine disturbs much less than wall time. Keyward runs as \`wrangler deploy --dry-run\` bundles it. Medians.
`,
    );
    out.push(row(["Worker", "main module (gzip)", "listening ms", "CPU ms", "first response ms", "CPU ms", "second response ms"]));
    out.push(row(["---", "---:", "---:", "---:", "---:", "---:", "---:"]));
    const main = c.bundle.modules[0];
    for (const [id, v] of Object.entries(c.summary)) {
      const size = id === "keyward" ? `${fmt(main.bytes / 1024)} KiB (${fmt(main.gzipBytes / 1024)} KiB)` : "–";
      out.push(row([id, size, fmt(v.listenMs), fmt(v.listenCpuMs), fmt(v.firstMs, 1), fmt(v.firstCpuMs, 1), fmt(v.secondMs, 1)]));
    }
    if (c.bundle.modules.length > 1) {
      out.push("");
      out.push(
        `Other modules of the deploy bundle: ${c.bundle.modules
          .slice(1)
          .map((m) => `${m.file} ${fmt(m.bytes / 1024)} KiB (${fmt(m.gzipBytes / 1024)} KiB gzip)`)
          .join(", ")}.`,
      );
    }
    out.push("");
  }
  if (report.accuracy.length > 0) {
    const a = plan.accuracy;
    out.push(
      `## Limiter accuracy\n\nLimit ${a.limit} per ${a.windowSeconds} s, ${a.connections} connections. Admissions are counted where they arrive, at the origin (a request admitted while the load generator was shutting down still counts). "Max in any window": the most admissions inside any ${a.windowSeconds * 1000 - a.toleranceMs} ms span (${a.windowSeconds} s less ${a.toleranceMs} ms for clock jitter).${a.steadySeconds > 0 ? ` "steady": flat-out for ${a.steadySeconds} s.` : ""}${a.burstCycles > 0 ? ` "burst": ${a.burstCycles}× (one request, idle ${0.5 * a.windowSeconds} s, flat-out for ${0.9 * a.windowSeconds} s, idle ${1.2 * a.windowSeconds} s).` : ""}\n`,
    );
    out.push(
      row([
        "limiter",
        "pattern",
        "admitted",
        "max in any window",
        "limit",
        "over-admission",
        `max in a window starting in each ${a.windowSeconds}-s segment of the run`,
      ]),
    );
    out.push(row(["---", "---", "---:", "---:", "---:", "---:", "---"]));
    for (const r of report.accuracy) {
      out.push(row([r.limiter, r.pattern, r.admitted, r.maxInAnyWindow, r.limit, `${fmt(r.overAdmissionPercent)}%`, r.windows.join(", ")]));
    }
    out.push("");
  }
  if (report.cost.length > 0) {
    out.push(
      `## Cost per request (counted)\n\nKV reads and Durable Object RPCs counted by wrappers on the bindings; rows written from the guard's \`describe().rowsWritten\` (Keyward) or counted \`put()\`/\`setAlarm()\` calls (peer); DO requests include alarm invocations. Dollars per million requests at $${report.prices.kvRead}/M KV reads, $${report.prices.doRequest}/M DO requests, $${report.prices.rowWritten}/M rows written (Workers Paid, beyond included usage; the Workers request and CPU price, the same for every gateway, is not included).\n`,
    );
    out.push(row(["gateway", "request", "n", "status", "KV reads/req", "DO requests/req", "rows written/req", "$ per M requests"]));
    out.push(row(["---", "---", "---:", "---", "---:", "---:", "---:", "---:"]));
    for (const c of report.cost) {
      const statuses = Object.entries(c.statuses)
        .map(([s, n]) => `${s}×${n}`)
        .join(" ");
      out.push(
        row([
          c.gateway,
          c.kind,
          c.requests,
          statuses,
          fmt(c.perRequest.kvReads, 3),
          fmt(c.perRequest.doRequests, 3),
          fmt(c.perRequest.rowsWritten, 3),
          fmt(c.dollarsPerMillion, 3),
        ]),
      );
    }
    out.push("");
  }
  if (report.costRegimes) {
    out.push(
      "## Cost in four traffic regimes\n\nOne key at each rate, everything billed per request: KV reads, Durable Object requests (alarms and the usage report's calls included), rows written (usage reports and the ledger's rows included; setAlarm priced as a row) and Durable Object duration (GB-s, 128 MB while an object runs or cannot hibernate), at Workers Paid prices beyond the included usage. Busy is a paced run; the slower regimes are computed from the operations counted below (docs/performance.md says how).\n",
    );
    out.push(regimeTable(report.costRegimes));
    out.push("");
  }
  return out.join("\n");
}
