/**
 * The entry of one forked worker process: `node worker-process.js '<options as JSON>'`. Used by
 * `startClusterWorker` to run one process per GPU (see gpu-processes.ts); prints one line once
 * connected, leaves gracefully on SIGTERM or SIGINT.
 */
import { z } from 'zod';
import { startClusterWorker } from './worker.js';

const optionsSchema = z.object({
  redisUrl: z.string(),
  concurrency: z.number().int().positive(),
  workerName: z.string(),
  cacheDir: z.string(),
  queuePrefix: z.string().optional(),
  lockDurationMs: z.number().int().positive().optional(),
  stalledIntervalMs: z.number().int().positive().optional(),
  maxStalledCount: z.number().int().nonnegative().optional(),
});

const options = optionsSchema.parse(JSON.parse(process.argv[2] ?? '{}'));
const worker = await startClusterWorker(options);
process.stdout.write(
  `worker ${worker.name} connected (pid ${process.pid}, CUDA_VISIBLE_DEVICES=${process.env.CUDA_VISIBLE_DEVICES ?? ''})\n`,
);
let leaving = false;
const leave = (): void => {
  // A second signal means "now": unfinished mini-batches stall and run again elsewhere.
  if (leaving) process.exit(1);
  leaving = true;
  worker.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.on('SIGTERM', leave);
process.on('SIGINT', leave);
