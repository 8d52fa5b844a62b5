/**
 * Reading a run's status and acting on it: a run whose runner died without recording an end is
 * reported Failed (and recorded so, its processes or container ended), `cancel` signals the runner and waits for Canceled, `wait`
 * waits for an end. Waits poll the status file: the runner is another process.
 */
import { writeFile } from 'node:fs/promises';
import { BerthError } from '../core/errors.js';
import { endGroups, isAlive } from './local/process-group.js';
import { terminalStates, type RunStatus } from './records.js';
import type { RunFolder } from './run-folder.js';

const pollMs = 100;
/** How long a Queued run may go without its runner recording its pid. */
const startGraceMs = 30_000;

export function isTerminal(status: RunStatus): boolean {
  return terminalStates.includes(status.state);
}

/** The status, with a dead runner's run recorded as Failed. */
export async function currentStatus(folder: RunFolder): Promise<RunStatus> {
  const status = await folder.status();
  if (isTerminal(status) || status.runnerPid === undefined || isAlive(status.runnerPid)) return status;
  // The runner may have written its end between the read above and the liveness check.
  const again = await folder.status();
  if (isTerminal(again)) return again;
  await endGroups(again.processGroups, 0);
  if ((await folder.record()).targetKind === 'container') {
    // Loaded on use: only a container run needs the engine client.
    const { removeRunContainers } = await import('./container/cleanup.js');
    await removeRunContainers(folder).catch(() => 0);
  }
  return folder.updateStatus({
    state: 'Failed',
    reason: `the runner (pid ${again.runnerPid}) ended without recording an end`,
    endedAt: new Date().toISOString(),
  });
}

async function delay(ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolves the status once the run has ended, or when `signal` aborts (then the current one). */
export async function waitForEnd(folder: RunFolder, signal?: AbortSignal): Promise<RunStatus> {
  for (;;) {
    const status = await currentStatus(folder);
    if (isTerminal(status) || signal?.aborted) return status;
    await delay(pollMs);
  }
}

/**
 * Cancels a run: SIGTERM to its runner, which ends the process tree and records Canceled.
 * CONFLICT when the run has already ended.
 */
export async function cancelRun(
  folder: RunFolder,
  targetKind: string,
  timeoutMs = 60_000,
): Promise<RunStatus> {
  if (targetKind === 'cluster') return cancelClusterRun(folder, timeoutMs);
  const startDeadline = Date.now() + startGraceMs;
  let status = await currentStatus(folder);
  while (!isTerminal(status) && status.runnerPid === undefined && Date.now() < startDeadline) {
    await delay(pollMs);
    status = await currentStatus(folder);
  }
  if (isTerminal(status))
    throw new BerthError(
      'CONFLICT',
      `job ${folder.id} has already ended (${status.state}): nothing to cancel`,
    );
  if (status.runnerPid === undefined)
    throw new BerthError('NOT_READY', `job ${folder.id} has no runner yet: try the cancel again`);
  const deadline = Date.now() + timeoutMs;
  try {
    process.kill(status.runnerPid, 'SIGTERM');
  } catch {
    // Gone already: currentStatus records it below.
  }
  while (Date.now() < deadline) {
    status = await currentStatus(folder);
    if (isTerminal(status)) return status;
    await delay(pollMs);
  }
  throw new BerthError('UPSTREAM_TIMEOUT', `job ${folder.id} did not stop within ${timeoutMs / 1000}s`);
}

/**
 * A cluster run is reached through its folder: the `cancel-requested` file, which the worker
 * running it looks for, and which a worker about to start it honours. A run no worker has taken
 * yet is recorded Canceled at once.
 */
async function cancelClusterRun(folder: RunFolder, timeoutMs: number): Promise<RunStatus> {
  let status = await folder.status();
  if (isTerminal(status))
    throw new BerthError(
      'CONFLICT',
      `job ${folder.id} has already ended (${status.state}): nothing to cancel`,
    );
  await writeFile(folder.cancelFile, new Date().toISOString());
  if (status.state === 'Queued')
    return folder.updateStatus({
      state: 'Canceled',
      reason: 'canceled by request',
      endedAt: new Date().toISOString(),
    });
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    status = await folder.status();
    if (isTerminal(status)) return status;
    await delay(pollMs);
  }
  throw new BerthError('UPSTREAM_TIMEOUT', `job ${folder.id} did not stop within ${timeoutMs / 1000}s`);
}
