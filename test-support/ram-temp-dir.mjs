// @ts-check
// The test runs keep their temporary files in memory where the machine has room
// for them. Miniflare puts every Durable Object's SQLite database and the local KV
// under the OS temp directory, and each test file of the "workers" project deletes
// them all again (test/support/fresh-storage.ts); wrangler dev persists under it too.
// On a disk, those writes, syncs and deletes cost the suite seconds of wall time and
// of system CPU on a 2-core machine; on tmpfs they cost almost nothing.
import { mkdirSync, statfsSync } from "node:fs";
import { join } from "node:path";

/** The RAM-backed file system of a Linux machine. */
const SHM = "/dev/shm";
/** Free room the tests need there before they use it (the suite writes tens of MB). */
const MIN_FREE_BYTES = 1024 ** 3;

/**
 * Points TMPDIR (read by `os.tmpdir()` at each call, and inherited by every child
 * process) at a directory on /dev/shm, when that exists with at least 1 GiB free
 * (a container's default /dev/shm is 64 MB: then nothing changes). A TMPDIR the
 * user set is kept. Returns the temp directory in use.
 * @param {NodeJS.ProcessEnv} [env]
 */
export function useRamTempDir(env = process.env) {
  if (env.TMPDIR || process.platform !== "linux") return env.TMPDIR;
  try {
    const fs = statfsSync(SHM);
    if (fs.bavail * fs.bsize < MIN_FREE_BYTES) return undefined;
    const dir = join(SHM, "keyward-tests");
    mkdirSync(dir, { recursive: true });
    env.TMPDIR = dir;
    return dir;
  } catch {
    return undefined;
  }
}
