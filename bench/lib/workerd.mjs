// @ts-check
// Builds the bench Workers with esbuild, writes a workerd config (Cap'n Proto
// text) for them. bench/run.mjs runs `workerd serve` with it on loopback.
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";
import { buildConsole } from "../../scripts/build-console.mjs";

export const BENCH_DIR = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
export const ROOT = path.dirname(BENCH_DIR);
export const BUILD_DIR = path.join(BENCH_DIR, ".build");
export const WORKERD = path.join(ROOT, "node_modules", ".bin", "workerd");
const COMPATIBILITY_DATE = "2026-11-01";

const WORKERS = ["kv", "passthrough", "keyward", "peer", "floor", "origin"];

/** The floor's services (bench/workers/floor.ts), one per scenario family, so that each keeps its own isolate cache. */
const FLOORS = ["floor-hot", "floor-many", "floor-many-durable", "floor-payload", "floor-noguard"];

/** Bundles each bench Worker (and what it imports from ../src) into .build/<name>.js. */
export async function bundle() {
  mkdirSync(BUILD_DIR, { recursive: true });
  // The Keyward Worker imports the console's browser bundle, which only a build makes
  // (wrangler's [build] step, or the vitest config): make it here too, so a fresh clone benches.
  buildConsole();
  await Promise.all(
    WORKERS.map((name) =>
      esbuild.build({
        entryPoints: [path.join(BENCH_DIR, "workers", `${name}.ts`)],
        outfile: path.join(BUILD_DIR, `${name}.js`),
        bundle: true,
        format: "esm",
        platform: "neutral",
        mainFields: ["browser", "module", "main"],
        conditions: ["workerd", "worker", "browser"],
        external: ["cloudflare:*"],
        // The console's page, stylesheet and browser bundle are text modules (wrangler.toml [[rules]]).
        loader: { ".html": "text", ".css": "text", ".txt": "text" },
        target: "es2023",
        logLevel: "error",
      }),
    ),
  );
}

const q = (text) => JSON.stringify(String(text));

function binding(name, value) {
  if (value.text !== undefined) return `(name = ${q(name)}, text = ${q(value.text)})`;
  if (value.kv !== undefined) return `(name = ${q(name)}, kvNamespace = ${q(value.kv)})`;
  if (value.durableObject !== undefined) return `(name = ${q(name)}, durableObjectNamespace = ${q(value.durableObject)})`;
  if (value.foreignObject !== undefined)
    return `(name = ${q(name)}, durableObjectNamespace = (className = ${q(value.foreignObject.className)}, serviceName = ${q(value.foreignObject.service)}))`;
  if (value.service !== undefined) return `(name = ${q(name)}, service = ${q(value.service)})`;
  throw new Error(`unknown binding ${name}`);
}

/**
 * One worker of the config, in workerd's Cap'n Proto text.
 * @param {{ module: string, bindings: Record<string, any>, durableObjects?: string[], outbound?: string | null, uniquePrefix?: string, inMemoryObjects?: boolean }} options
 */
function worker({ module, bindings, durableObjects = [], outbound = "origin", uniquePrefix, inMemoryObjects = false }) {
  const lines = [
    `compatibilityDate = ${q(COMPATIBILITY_DATE)}`,
    `modules = [(name = ${q(`${module}.js`)}, esModule = embed ${q(`${module}.js`)})]`,
    `bindings = [${Object.entries(bindings)
      .map(([name, value]) => binding(name, value))
      .join(", ")}]`,
  ];
  if (outbound) lines.push(`globalOutbound = ${q(outbound)}`);
  if (durableObjects.length > 0) {
    lines.push(
      `durableObjectNamespaces = [${durableObjects
        .map((className) => `(className = ${q(className)}, uniqueKey = ${q(`${uniquePrefix}-${className}`)}, enableSql = true)`)
        .join(", ")}]`,
    );
    lines.push(inMemoryObjects ? "durableObjectStorage = (inMemory = void)" : `durableObjectStorage = (localDisk = "do-storage")`);
  }
  return `(\n      ${lines.join(",\n      ")}\n    )`;
}

/**
 * The gateways listen on 127.0.0.1 with OS-chosen ports (reported on the control
 * fd). Every Worker's global fetch() goes to the origin service, an `external`
 * server on loopback, whatever the URL says: nothing can leave the machine.
 * KV bindings go to the in-memory KV Worker; Durable Objects are SQLite-backed
 * (enableSql) on local disk, as the SQL API requires.
 */
export function writeConfig({ originPort, storageDir, signingKey, keywardServices }) {
  const origin = `http://127.0.0.1:${originPort}`;
  const services = [
    `(name = "kv", worker = ${worker({ module: "kv", bindings: {}, outbound: null })})`,
    `(name = "origin", external = (address = ${q(`127.0.0.1:${originPort}`)}, http = ()))`,
    `(name = "do-storage", disk = (path = ${q(storageDir)}, writable = true))`,
    `(name = "pass-through", worker = ${worker({ module: "passthrough", bindings: { ORIGIN_URL: { text: origin } } })})`,
    // The origin as a Worker, for Keyward's ORIGIN service binding.
    `(name = "origin-worker", worker = ${worker({ module: "origin", bindings: {}, outbound: null })})`,
    ...keywardServices.map(
      ({ name, variant = "", originService = false, vars = {} }) =>
        `(name = ${q(name)}, worker = ${worker({
          module: "keyward",
          bindings: {
            KEYS: { kv: "kv" },
            KEY_GUARD: { durableObject: "KeyGuard" },
            // Lease holders (local admission), delayed in the latency mode (bench/workers/bench-lease-holder.ts).
            LEASE_HOLDER: { durableObject: "BenchLeaseHolder" },
            // OrgLedger with its reports' rows counted (bench/workers/report-cost.ts).
            ORG_LEDGER: { durableObject: "BenchLedger" },
            KEYWARD_ENV: { text: "development" },
            ORIGIN_URL: { text: origin },
            ...(originService ? { ORIGIN: { service: "origin-worker" } } : {}),
            KEYWARD_SIGNING_KEY: { text: JSON.stringify(signingKey) },
            BENCH_VARIANT: { text: variant },
            CONST_GUARD: { durableObject: "FloorGuard" },
            BENCH_GUARD: { durableObject: "BenchGuard" },
            FOREIGN_GUARD: { foreignObject: { className: "FloorGuard", service: "floor-payload" } },
            ...Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, { text: v }])),
          },
          durableObjects: ["KeyGuard", "OrgLedger", "FloorGuard", "BenchGuard", "BenchLedger", "BenchLeaseHolder"],
          uniquePrefix: name,
        })})`,
    ),
    // The floor (bench/workers/floor.ts): one instance for the hot key, one for the
    // many keys, as Keyward has, so that each keeps its own isolate cache.
    // floor-payload: the hot key's floor with Keyward's guard payload (profile only).
    // floor-many-durable: the many keys' floor with a durable window per key (bench/workers/durable-floor.ts).
    ...FLOORS.map((name) => {
      const durable = name === "floor-many-durable";
      const guardClass = durable ? "DurableFloorGuard" : "FloorGuard";
      return `(name = ${q(name)}, worker = ${worker({
        module: "floor",
        bindings: {
          KEYS: { kv: "kv" },
          FLOOR_GUARD: { durableObject: guardClass },
          ORIGIN_URL: { text: origin },
          FLOOR_PAYLOAD: { text: name === "floor-payload" ? "keyward" : "" },
          FLOOR_NOGUARD: { text: name === "floor-noguard" ? "1" : "" },
        },
        durableObjects: [guardClass],
        uniquePrefix: name,
        // The floor's objects never touch storage: in memory they hold no open
        // files, so scenario (c0) does not compete with (c) for the open-file limit.
        // The durable floor's are SQLite-backed on disk, as Keyward's guards: it is
        // not primed (as the peer is not), and every many-keys scenario is followed by
        // a wait until its objects were evicted (bench/phases/throughput.mjs), so its
        // objects and Keyward's guards are never live together.
        inMemoryObjects: !durable,
      })})`;
    }),
    `(name = "peer", worker = ${worker({
      module: "peer",
      bindings: { KEYS: { kv: "kv" }, RATE_LIMITER: { durableObject: "RateLimiter" }, ORIGIN_URL: { text: origin } },
      durableObjects: ["RateLimiter"],
      uniquePrefix: "peer",
    })})`,
  ];
  const gateways = ["pass-through", ...keywardServices.map((s) => s.name), ...FLOORS, "peer"];
  const sockets = gateways.map((name) => `(name = ${q(name)}, address = "127.0.0.1:0", http = (), service = ${q(name)})`);
  const text = `# Generated by bench/run.mjs; do not edit.
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    ${services.join(",\n    ")}
  ],
  sockets = [
    ${sockets.join(",\n    ")}
  ],
);
`;
  const file = path.join(BUILD_DIR, "config.capnp");
  writeFileSync(file, text);
  return { file, gateways };
}

export function resetStorage(storageDir) {
  rmSync(storageDir, { recursive: true, force: true });
  mkdirSync(storageDir, { recursive: true });
}
