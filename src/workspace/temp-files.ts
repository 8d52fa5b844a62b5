/**
 * Temp files of the artifact store. Writes land in `<root>/tmp/` and are renamed into place only
 * when complete, so a crash leaves at worst a temp file, never a half blob. Names carry the
 * writer's pid: on open, a store removes temp files whose writer is gone, but never those of a
 * live process still writing (a CLI and a server may share one workspace).
 */
import { randomBytes } from 'node:crypto';
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';

/** After this long without a write, a temp file is stale even if its pid is alive (pids are reused). */
const staleAfterMs = 24 * 60 * 60 * 1000;

export function tempName(): string {
  return `${process.pid}-${randomBytes(8).toString('hex')}.tmp`;
}

function isAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as { code?: unknown }).code === 'EPERM';
  }
}

/** Removes the temp files left by dead writers; resolves how many it removed. */
export async function removeStaleTempFiles(dir: string, now = Date.now()): Promise<number> {
  let removed = 0;
  for (const name of await readdir(dir)) {
    const path = join(dir, name);
    const pid = Number(/^(\d+)-/.exec(name)?.[1]);
    let stale = !Number.isInteger(pid) || !isAlive(pid);
    if (!stale) {
      const info = await stat(path).catch(() => undefined);
      stale = info !== undefined && now - info.mtimeMs > staleAfterMs;
    }
    if (stale) {
      await rm(path, { recursive: true, force: true });
      removed += 1;
    }
  }
  return removed;
}
