/**
 * The shell of every detached job runner (`node runner-main.js <run folder>`), whatever the target:
 * it opens the run folder named on the command line, turns SIGTERM or SIGINT (what `berth job
 * cancel` sends) into an abort of the attempt, and records whatever the attempt throws as Failed
 * with its reason, so a run is never left Running. Each target's runner-main gives only the attempt.
 */
import { basename } from 'node:path';
import { toBerthError } from '../core/errors.js';
import { RunFolder } from './run-folder.js';

export type RunnerAttempt = (folder: RunFolder, signal: AbortSignal) => Promise<unknown>;

async function runDetached(dir: string, attempt: RunnerAttempt): Promise<void> {
  const folder = RunFolder.at(dir, basename(dir));
  const cancel = new AbortController();
  const onSignal = (): void => cancel.abort();
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    await attempt(folder, cancel.signal);
  } catch (error) {
    const berth = toBerthError(error);
    await folder.updateStatus({
      state: 'Failed',
      reason: `the runner failed: ${berth.code}: ${berth.message}`,
      endedAt: new Date().toISOString(),
    });
    process.exitCode = 1;
  }
}

/** Runs `attempt` for the run folder given as the process's first argument (exit 2 without one). */
export async function runnerMain(attempt: RunnerAttempt): Promise<void> {
  const dir = process.argv[2];
  if (dir === undefined) {
    process.stderr.write('usage: runner-main.js <run folder>\n');
    process.exitCode = 2;
    return;
  }
  await runDetached(dir, attempt);
}
