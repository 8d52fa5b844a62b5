/**
 * The detached process that runs a local job (`node runner-main.js <run folder> <id>`), so the job
 * outlives the `berth job create` that started it. SIGTERM or SIGINT (what `berth job cancel`
 * sends) ends the command's process groups and records Canceled. Whatever goes wrong here is
 * recorded as Failed with its reason, never left as Running.
 */
import { basename } from 'node:path';
import { toBerthError } from '../../core/errors.js';
import { RunFolder } from '../run-folder.js';
import { runAttempt } from './runner.js';

async function main(dir: string): Promise<void> {
  const folder = RunFolder.at(dir, basename(dir));
  const cancel = new AbortController();
  const onSignal = (): void => cancel.abort();
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    await runAttempt(folder, { signal: cancel.signal });
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

const dir = process.argv[2];
if (dir === undefined) {
  process.stderr.write('usage: runner-main.js <run folder>\n');
  process.exitCode = 2;
} else {
  await main(dir);
}
