/**
 * Command jobs on a cluster: one BullMQ queue, `<prefix>:jobs`, beside the batch queue, on the
 * same Redis and the same workers (`berth worker`). A message names the run folder, which the
 * workers reach on shared storage (as batch inputs are), and how many times a run may be retried
 * when its worker disappears.
 */
import { z } from 'zod';
import { parseClusterAddress } from '../../batch/cluster/config.js';
import { closeRedis, connectNow, createRedis } from '../../batch/cluster/connection.js';
import { clientName, defaultQueuePrefix } from '../../batch/cluster/names.js';
import type { RunFolder } from '../run-folder.js';

export const jobsQueueName = 'jobs';

export interface ClusterPlacement {
  /** `redis://host:port[/db]`. */
  redis: string;
  queuePrefix: string;
}

export const clusterRunMessageSchema = z.object({
  id: z.string(),
  runDir: z.string(),
  maxRetries: z.number().int().min(0),
});
export type ClusterRunMessage = z.output<typeof clusterRunMessageSchema>;

export function placementOf(config: Record<string, unknown>): ClusterPlacement {
  const redis = typeof config.redis === 'string' ? config.redis : '';
  const queuePrefix = typeof config.queuePrefix === 'string' ? config.queuePrefix : defaultQueuePrefix;
  return { redis, queuePrefix };
}

/** Puts the run on the jobs queue; the BullMQ job id is the run id, so a repeated add is a no-op. */
export async function enqueueClusterRun(
  folder: RunFolder,
  placement: ClusterPlacement,
  maxRetries: number,
): Promise<void> {
  // Loaded on use: BullMQ is heavy, and a local job never needs it.
  const { Queue } = await import('bullmq');
  const connection = createRedis(
    parseClusterAddress(placement.redis),
    clientName(placement.queuePrefix, 'job-submitter'),
    'producer',
  );
  await connectNow(connection);
  const queue = new Queue(jobsQueueName, { connection, prefix: placement.queuePrefix });
  try {
    const message: ClusterRunMessage = { id: folder.id, runDir: folder.dir, maxRetries };
    await queue.add('run', message, { jobId: folder.id, removeOnComplete: true, removeOnFail: true });
  } finally {
    await queue.close();
    await closeRedis(connection);
  }
}
