/**
 * One pick-up of a cluster run by a worker. A run whose last attempt never ended lost its worker
 * (killed, preempted): that attempt is closed with the reason, its processes are ended when they
 * ran on this machine, and the run starts again with the same checkpoint folder, unless it has
 * already been retried `max_retries` times. A cancel reaches a worker as a file in the run folder
 * (`cancel-requested`), which it looks for while the command runs.
 */
import { appendFile, mkdir, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { isTerminal } from '../control.js';
import { endGroups } from '../local/process-group.js';
import { runAttempt } from '../local/runner.js';
import type { RunFolder } from '../run-folder.js';
import type { RunStatus } from '../records.js';
import type { ClusterRunMessage } from './queue.js';

export async function cancelRequested(folder: RunFolder): Promise<boolean> {
  return stat(folder.cancelFile).then(
    () => true,
    () => false,
  );
}

export function checkpointDir(folder: RunFolder): string {
  return join(folder.dir, 'checkpoints');
}

export async function runClusterAttempt(
  folder: RunFolder,
  message: ClusterRunMessage,
  workerName: string,
): Promise<RunStatus> {
  let status = await folder.status();
  if (isTerminal(status)) return status;
  const now = (): string => new Date().toISOString();
  if (await cancelRequested(folder))
    return folder.updateStatus({ state: 'Canceled', reason: 'canceled by request', endedAt: now() });
  const host = hostname();
  const lost = status.attempts.filter((attempt) => attempt.endedAt === undefined);
  if (lost.length > 0) {
    // A worker on this machine that died left its command's process groups behind.
    if (lost.some((attempt) => attempt.where.endsWith(`@${host}`))) await endGroups(status.processGroups, 0);
    status = await folder.updateStatus({
      attempts: status.attempts.map((attempt) =>
        attempt.endedAt === undefined
          ? {
              ...attempt,
              endedAt: now(),
              reason: `${attempt.where} stopped during the attempt (killed or preempted)`,
            }
          : attempt,
      ),
    });
  }
  const retries = status.attempts.length;
  if (retries > message.maxRetries) {
    return folder.updateStatus({
      state: 'Failed',
      reason: `its worker stopped ${retries} times, more than max_retries (${message.maxRetries})`,
      endedAt: now(),
    });
  }
  const checkpoints = checkpointDir(folder);
  await mkdir(checkpoints, { recursive: true });
  if (retries > 0)
    await appendFile(
      folder.logFile(0),
      `[berth] attempt ${retries + 1} on ${workerName}@${host}, from the checkpoint folder\n`,
    );
  const cancel = new AbortController();
  const watch = setInterval(() => {
    void cancelRequested(folder).then((requested) => {
      if (requested) cancel.abort();
    });
  }, 200);
  try {
    return await runAttempt(folder, {
      signal: cancel.signal,
      where: `${workerName}@${host}`,
      env: { BERTH_CHECKPOINT_DIR: checkpoints },
      recordPid: false,
    });
  } finally {
    clearInterval(watch);
  }
}
