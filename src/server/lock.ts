/**
 * One control plane per workspace. The lock is an exclusive SQLite lock on `<workspace>/server.lock`:
 * the operating system drops it when the holder dies, however it dies, so a crashed server never
 * leaves a stale lock behind, and two servers starting at once cannot both win.
 */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { BerthError } from '../core/errors.js';

export const lockFileName = 'server.lock';

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
  let held = true;
  return {
    release(): void {
      if (!held) return;
      held = false;
      db.close();
    },
  };
}
