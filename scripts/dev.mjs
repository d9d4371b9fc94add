// `npm run dev`: the demo origin on :8788 and Keyward (wrangler dev) on :8787, offline.
import { spawn } from "node:child_process";
import { startEchoOrigin } from "../demo/echo-origin.mjs";
import { ensureDevVars } from "./dev-vars.mjs";

ensureDevVars();
const origin = await startEchoOrigin({ port: 8788 });
console.log("demo origin on http://127.0.0.1:8788");

const wrangler = spawn("wrangler", ["dev", "--ip", "127.0.0.1", "--port", "8787", ...process.argv.slice(2)], {
  stdio: "inherit",
  env: { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false" },
});
const stop = () => {
  wrangler.kill("SIGINT");
  origin.close();
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
wrangler.on("exit", (code) => {
  origin.close();
  process.exit(code ?? 0);
});
