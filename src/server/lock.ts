/**
 * One control plane per workspace. The lock is an exclusive SQLite lock on `<workspace>/server.lock`:
 * the operating system drops it when the holder dies, however it dies, so a crashed server never
 * leaves a stale lock behind, and two servers starting at once cannot both win.
 *
 * The holder writes its pid to `<workspace>/server.pid` as soon as it holds the lock, before it
 * serves anything, so `berth server stop` finds a server that is busy or wedged (one that answers
 * no health check) by the lock and that pid: a pid file counts only while its lock is held.
 */
import Database from 'better-sqlite3';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BerthError } from '../core/errors.js';

export const lockFileName = 'server.lock';
export const pidFileName = 'server.pid';

export interface WorkspaceLock {
  release(): void;
}

export function acquireWorkspaceLock(workspaceDir: string): WorkspaceLock {
  const path = join(workspaceDir, lockFileName);
  const db = new Database(path, { timeout: 0 });
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    // BEGIN EXCLUSIVE takes the file lock; with locking_mode EXCLUSIVE it is kept after COMMIT.
    db.exec('BEGIN EXCLUSIVE; CREATE TABLE IF NOT EXISTS holder (pid INTEGER); COMMIT;');
  } catch (error) {
    db.close();
    if ((error as { code?: unknown }).code === 'SQLITE_BUSY') {
      throw new BerthError('CONFLICT', `another berth server already runs on the workspace ${workspaceDir}`, {
        cause: error,
      });
    }
    throw error;
  }
  const pidPath = join(workspaceDir, pidFileName);
  writeFileSync(pidPath, `${process.pid}\n`, { mode: 0o600 });
  let held = true;
  return {
    release(): void {
      if (!held) return;
      held = false;
      if (readPid(pidPath) === process.pid) rmSync(pidPath, { force: true });
      db.close();
    },
  };
}

/** Whether a live process holds the workspace lock (a reader is refused while it does). */
export function workspaceLocked(workspaceDir: string): boolean {
  const path = join(workspaceDir, lockFileName);
  if (!existsSync(path)) return false;
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true, timeout: 0 });
    db.prepare('SELECT count(*) FROM sqlite_master').get();
    return false;
  } catch (error) {
    return (error as { code?: unknown }).code === 'SQLITE_BUSY';
  } finally {
    db?.close();
  }
}

/** The pid of the process holding the workspace lock, or undefined when none holds it. */
export function lockHolder(workspaceDir: string): number | undefined {
  if (!workspaceLocked(workspaceDir)) return undefined;
  const pid = readPid(join(workspaceDir, pidFileName));
  return pid !== undefined && processAlive(pid) ? pid : undefined;
}

function readPid(path: string): number | undefined {
  try {
    const pid = Number(readFileSync(path, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
