/**
 * The detached process that runs a job on an ssh target (`node runner-main.js <run folder>`), so
 * the job outlives the `berth job create` that started it. Cancel ends the remote process tree and
 * records Canceled; a command killed by a signal is retried per max_retries (runner.ts; see
 * ../runner-process.ts for the rest).
 */
import { readFile } from 'node:fs/promises';
import { resolveSshTargetConfig } from '../../targets/ssh/index.js';
import { runnerMain } from '../runner-process.js';
import { targetFile } from './launch.js';
import { runSshJob } from './runner.js';

await runnerMain(async (folder, signal) =>
  runSshJob(folder, resolveSshTargetConfig(JSON.parse(await readFile(targetFile(folder), 'utf8'))), signal),
);
