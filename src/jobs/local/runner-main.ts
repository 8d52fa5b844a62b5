/**
 * The detached process that runs a local job (`node runner-main.js <run folder>`), so the job
 * outlives the `berth job create` that started it. Cancel ends the command's process groups and
 * records Canceled (see ../runner-process.ts for the rest).
 */
import { runnerMain } from '../runner-process.js';
import { runAttempt } from './runner.js';

await runnerMain((folder, signal) => runAttempt(folder, { signal }));
