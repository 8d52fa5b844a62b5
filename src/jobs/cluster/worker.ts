/**
 * The command-job side of `berth worker`: a BullMQ Worker on `<prefix>:jobs` that runs one job at
 * a time (a training job takes the machine). A worker that vanishes stops renewing its lock;
 * BullMQ's stalled-job check puts the run back on the queue and another worker picks it up
 * (attempt.ts decides whether it may run again). Stalls are counted in the run's own attempts,
 * against its `max_retries`, so BullMQ's own stall limit is set out of the way.
 */
import { Worker, type Job } from 'bullmq';
import { parseClusterAddress } from '../../batch/cluster/config.js';
import { closeRedis, createRedis } from '../../batch/cluster/connection.js';
import { clientName, defaultQueuePrefix } from '../../batch/cluster/names.js';
import { toBerthError } from '../../core/errors.js';
import { RunFolder } from '../run-folder.js';
import { runClusterAttempt } from './attempt.js';
import { clusterRunMessageSchema, jobsQueueName } from './queue.js';

export interface JobWorkerOptions {
  redisUrl: string;
  queuePrefix?: string | undefined;
  workerName: string;
  /** A worker silent this long is presumed dead and its run retried. Default: 30 s. */
  lockDurationMs?: number | undefined;
  /** How often to look for runs of dead workers. Default: 30 s. */
  stalledIntervalMs?: number | undefined;
  log: (line: string) => void;
}

export interface JobWorker {
  close(options?: { force?: boolean }): Promise<void>;
}

export async function startJobWorker(options: JobWorkerOptions): Promise<JobWorker> {
  const prefix = options.queuePrefix ?? defaultQueuePrefix;
  const connection = createRedis(
    parseClusterAddress(options.redisUrl),
    clientName(prefix, 'job-worker'),
    'blocking',
  );
  const worker = new Worker(
    jobsQueueName,
    async (job: Job) => {
      const message = clusterRunMessageSchema.parse(job.data);
      const folder = RunFolder.at(message.runDir, message.id);
      options.log(`${options.workerName}: job ${message.id} started`);
      try {
        const status = await runClusterAttempt(folder, message, options.workerName);
        options.log(`${options.workerName}: job ${message.id} ${status.state}`);
      } catch (error) {
        const berth = toBerthError(error);
        await folder
          .updateStatus({
            state: 'Failed',
            reason: `the worker failed: ${berth.code}: ${berth.message}`,
            endedAt: new Date().toISOString(),
          })
          .catch(() => undefined);
      }
    },
    {
      connection,
      prefix,
      name: options.workerName,
      concurrency: 1,
      lockDuration: options.lockDurationMs ?? 30_000,
      stalledInterval: options.stalledIntervalMs ?? 30_000,
      maxStalledCount: 1000,
      runRetryDelay: 1000,
    },
  );
  worker.on('error', (error) => options.log(`${options.workerName}: ${error.message}`));
  try {
    await worker.waitUntilReady();
  } catch (error) {
    await worker.close(true).catch(() => undefined);
    await closeRedis(connection);
    throw error;
  }
  let closing: Promise<void> | undefined;
  return {
    close(closeOptions = {}) {
      closing ??= (async () => {
        await worker.close(closeOptions.force === true);
        await closeRedis(connection);
      })();
      return closing;
    },
  };
}
