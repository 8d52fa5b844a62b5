/**
 * The detached process that runs a container job (`node runner-main.js <run folder>`; the target's
 * settings are in the run folder), so the job outlives the `berth job create` that started it.
 * Cancel stops the container and records Canceled (see ../runner-process.ts for the rest).
 */
import { runnerMain } from '../runner-process.js';
import { readRunTargetConfig } from './cleanup.js';
import { runContainerAttempt } from './runner.js';

await runnerMain(async (folder, signal) =>
  runContainerAttempt(folder, await readRunTargetConfig(folder), { signal }),
);
