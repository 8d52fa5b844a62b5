import type { Command } from 'commander';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { clusterTargetConfigSchema, redactClusterAddress } from '../../batch/cluster/config.js';
import { BerthError } from '../../core/errors.js';
import type { CliContext } from '../context.js';

interface WorkerFlags {
  cluster?: string;
  target?: string;
  concurrency: string;
  name?: string;
  gpus?: string;
  cacheDir?: string;
  queuePrefix?: string;
  lockDurationMs?: string;
  stalledIntervalMs?: string;
  intraOpThreads?: string;
}

function positive(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^[1-9]\d*$/.test(value))
    throw new BerthError(
      'BAD_INPUT',
      `${flag} must be a positive whole number, got ${JSON.stringify(value)}`,
    );
  return Number(value);
}

function gpuList(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const gpus = value.split(',').map((gpu) => gpu.trim());
  if (gpus.some((gpu) => !/^\d+$/.test(gpu))) {
    throw new BerthError('BAD_INPUT', `--gpus must list device ids like 0,1, got ${JSON.stringify(value)}`);
  }
  return gpus;
}

/** The Redis and queue prefix to serve: from --cluster (and --queue-prefix), or a named cluster target. */
async function clusterOf(
  flags: WorkerFlags,
  context: CliContext,
): Promise<{ redis: string; queuePrefix: string | undefined; display: string }> {
  if ((flags.cluster === undefined) === (flags.target === undefined)) {
    throw new BerthError(
      'BAD_INPUT',
      'give --target NAME (a cluster target of this workspace) or --cluster redis://host:port, one of them',
    );
  }
  if (flags.cluster !== undefined) {
    return {
      redis: flags.cluster,
      queuePrefix: flags.queuePrefix,
      display: redactClusterAddress(flags.cluster),
    };
  }
  const name = flags.target ?? '';
  const workspace = await context.openWorkspace();
  let record;
  try {
    record = await workspace.targets.get(name);
  } finally {
    await workspace.close();
  }
  if (record.kind !== 'cluster') {
    throw new BerthError(
      'BAD_INPUT',
      `target ${name} is a ${record.kind} target: workers join cluster targets (berth target create NAME --type cluster --redis …)`,
    );
  }
  const parsed = clusterTargetConfigSchema.safeParse({ ...record.config, kind: 'cluster', name });
  if (!parsed.success) {
    throw new BerthError(
      'INVALID_SPEC',
      `target ${name}: ${parsed.error.issues.map((issue) => issue.message).join('; ')}`,
    );
  }
  const config = parsed.data;
  if (flags.queuePrefix !== undefined && flags.queuePrefix !== config.queuePrefix) {
    throw new BerthError(
      'BAD_INPUT',
      `--queue-prefix ${flags.queuePrefix} differs from target ${name}'s queue prefix ${config.queuePrefix}: the worker would never see its jobs`,
    );
  }
  return {
    redis: config.redis,
    queuePrefix: config.queuePrefix,
    display: `${name} (${redactClusterAddress(config.redis)})`,
  };
}

export function registerWorkerCommand(program: Command, context: CliContext): void {
  program
    .command('worker')
    .description(
      'run batch mini-batches and command jobs sent to a cluster (Redis); SIGTERM leaves after the work in hand',
    )
    .option(
      '--target <name>',
      'the cluster target to serve (berth target create NAME --type cluster --redis …)',
    )
    .option('--cluster <url>', 'or the cluster by its address: redis://host:port[/db] (with --queue-prefix)')
    .option('-c, --concurrency <n>', 'mini-batches run at once', '1')
    .option('--name <name>', 'worker name in outcomes and logs (default: <hostname>-<pid>)')
    .option('--gpus <ids>', 'GPU ids, e.g. 0,1: one process per GPU, the concurrency dealt out over them')
    .option(
      '--cache-dir <dir>',
      'where downloaded models are kept (default: <workspace>/worker-cache, else ./.berth/worker-cache)',
    )
    .option(
      '--queue-prefix <prefix>',
      "with --cluster: Redis key prefix; must match the submitters' (default: berth; --target brings its own)",
    )
    .option(
      '--lock-duration-ms <ms>',
      'a worker silent this long is presumed dead and its mini-batch re-run (default: 30000)',
    )
    .option(
      '--stalled-interval-ms <ms>',
      'how often to look for mini-batches of dead workers (default: 30000)',
    )
    .option(
      '--intra-op-threads <n>',
      'ONNX Runtime threads per mini-batch run (default: all cores; with several workers on one machine, cores / workers)',
    )
    .action(async (flags: WorkerFlags) => {
      const cluster = await clusterOf(flags, context);
      if (flags.intraOpThreads !== undefined) {
        // Read by the batch runtime when it opens a model (and inherited by GPU child processes).
        process.env.BERTH_ORT_INTRA_OP_THREADS = String(positive(flags.intraOpThreads, '--intra-op-threads'));
      }
      const cacheDir = resolve(
        flags.cacheDir ??
          join(context.workspaceDir() ?? process.env.BERTH_WORKSPACE ?? '.berth', 'worker-cache'),
      );
      // Loaded on use: BullMQ is heavy, and every other command starts faster without it.
      const { startClusterWorker } = await import('../../batch/cluster/worker.js');
      const worker = await startClusterWorker({
        redisUrl: cluster.redis,
        concurrency: positive(flags.concurrency, '--concurrency'),
        workerName: flags.name ?? `${hostname()}-${process.pid}`,
        gpus: gpuList(flags.gpus),
        cacheDir,
        queuePrefix: cluster.queuePrefix,
        lockDurationMs: positive(flags.lockDurationMs, '--lock-duration-ms'),
        stalledIntervalMs: positive(flags.stalledIntervalMs, '--stalled-interval-ms'),
        log: (line) => context.io.stderr.write(`${line}\n`),
      });
      // The same worker runs command jobs sent to the cluster (berth job create --target NAME).
      const { startJobWorker } = await import('../../jobs/cluster/worker.js');
      const jobWorker = await startJobWorker({
        redisUrl: cluster.redis,
        queuePrefix: cluster.queuePrefix,
        workerName: worker.name,
        lockDurationMs: positive(flags.lockDurationMs, '--lock-duration-ms'),
        stalledIntervalMs: positive(flags.stalledIntervalMs, '--stalled-interval-ms'),
        log: (line) => context.io.stderr.write(`${line}\n`),
      });
      context.io.stdout.write(`worker ${worker.name} connected to ${cluster.display} (pid ${process.pid})\n`);
      await new Promise<void>((done, fail) => {
        let leaving = false;
        const leave = (): void => {
          // A second signal means "now": the mini-batches in hand stall and run again on other workers.
          if (leaving) process.exit(1);
          leaving = true;
          Promise.all([worker.close(), jobWorker.close()]).then(() => done(), fail);
        };
        process.on('SIGTERM', leave);
        process.on('SIGINT', leave);
      });
      context.io.stdout.write(`worker ${worker.name} left\n`);
    });
}
