/**
 * Starts the detached local runner of a job on an ssh target. The target's settings (host, key
 * file, known_hosts: no secret) are written to the run folder for the runner, which records its own
 * pid in the status: a cancel reaches it as a local run's does, and it ends the remote processes.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BerthError } from '../../core/errors.js';
import { resolveSshTargetConfig } from '../../targets/ssh/index.js';
import type { RunFolder } from '../run-folder.js';

const runnerMain = fileURLToPath(new URL('./runner-main.js', import.meta.url));

/** The run folder's copy of the target's settings. */
export function targetFile(folder: RunFolder): string {
  return join(folder.dir, 'ssh-target.json');
}

export async function launchSshRun(folder: RunFolder, config: Record<string, unknown>): Promise<void> {
  const settings = { ...config, kind: 'ssh' };
  resolveSshTargetConfig(settings); // refuses bad settings before anything starts
  await writeFile(targetFile(folder), `${JSON.stringify(settings, null, 2)}\n`);
  const log = openSync(join(folder.dir, 'runner.log'), 'a');
  try {
    const child = spawn(process.execPath, [runnerMain, folder.dir], {
      detached: true,
      stdio: ['ignore', log, log],
      cwd: folder.dir,
    });
    if (child.pid === undefined)
      throw new BerthError('INTERNAL', `could not start the runner of job ${folder.id}`);
    child.unref();
  } finally {
    closeSync(log);
  }
}
