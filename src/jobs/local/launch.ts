/**
 * Starts the detached runner of a local job. The runner records its own pid in the status (one
 * writer per status file), which is how a cancel reaches it.
 */
import { spawn } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BerthError } from '../../core/errors.js';
import type { RunFolder } from '../run-folder.js';

const runnerMain = fileURLToPath(new URL('./runner-main.js', import.meta.url));

export function launchLocalRun(folder: RunFolder): number {
  return launchRunner(folder, runnerMain);
}

/** Starts `script` (a compiled runner's main) detached, as `node script <run folder> ...args`. */
export function launchRunner(folder: RunFolder, script: string, args: readonly string[] = []): number {
  const log = openSync(join(folder.dir, 'runner.log'), 'a');
  try {
    const child = spawn(process.execPath, [script, folder.dir, ...args], {
      detached: true,
      stdio: ['ignore', log, log],
      cwd: folder.dir,
    });
    const pid = child.pid;
    if (pid === undefined) throw new BerthError('INTERNAL', `could not start the runner of job ${folder.id}`);
    child.unref();
    return pid;
  } finally {
    closeSync(log);
  }
}
