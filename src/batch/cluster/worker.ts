/**
 * A cluster worker: a BullMQ Worker on the shared `batch` queue that runs mini-batches of any berth
 * job submitted to the same Redis. Per mini-batch it fetches the model (once per worker, verified;
 * see artifacts.ts), opens the program once per (job, model, script) and keeps it for the next
 * mini-batch of that job, runs the attempt under its timeout, and returns the MiniBatchOutcome as
 * the BullMQ job's return value. User errors, timeouts and model problems are outcomes, never
 * BullMQ failures: BullMQ's own retry machinery is left to what only it can see, a worker that
 * vanished (stalled-job detection re-queues the mini-batch; see engine.ts).
 *
 * Lifecycle: `startClusterWorker` resolves once connected; `close()` stops taking work, waits for
 * the mini-batches in hand, then closes the programs and connections. `close({ force: true })`
 * leaves at once: the unfinished mini-batches stall and run again elsewhere.
 */
import { hostname } from 'node:os';
import { Worker, type Job } from 'bullmq';
import { toBerthError } from '../../core/errors.js';
import type { MiniBatchOutcome, MiniBatchTask } from '../engine.js';
import { fetchModel, type FetchedModel } from './artifacts.js';
import { parseClusterAddress } from './config.js';
import { closeRedis, connectNow, createRedis } from './connection.js';
import { failedOutcome, parseTask, type StartedNote } from './messages.js';
import { clientName, defaultQueuePrefix, queueName } from './names.js';
import { startGpuProcesses } from './gpu-processes.js';
import { ProgramCache } from './program-cache.js';
import { loadProgram } from '../runtime/load-program.js';
import { runMiniBatch } from '../runtime/run-mini-batch.js';
import { runWithTimeout } from './timeout.js';

export interface ClusterWorkerOptions {
  /** `redis://host:port[/db]`, with or without the `cluster:` prefix. */
  redisUrl: string;
  /** Mini-batches this process runs at once. Default: 1. */
  concurrency?: number;
  /** Shown in outcomes, logs and `status`. Default: `<hostname>-<pid>`. */
  workerName?: string;
  /** Where downloaded models are kept between jobs. */
  cacheDir: string;
  /**
   * GPU ids. One id: this process uses it (CUDA_VISIBLE_DEVICES). Several: one child process per
   * GPU, the concurrency slots dealt out over them (gpu-processes.ts). Default: none set.
   */
  gpus?: string[];
  /** Must match the submitters'. Default: `berth`. */
  queuePrefix?: string;
  /** How long a mini-batch's lock lasts unrenewed; a worker silent this long is presumed dead. Default: 30 s. */
  lockDurationMs?: number;
  /** How often this worker looks for stalled mini-batches (of any worker). Default: 30 s. */
  stalledIntervalMs?: number;
  /** Stalls (worker deaths) one BullMQ job survives before it fails with WORKER_CRASHED. Default: 2. */
  maxStalledCount?: number;
  /** One line per notable event (model downloaded, worker error). Default: stderr. */
  log?: (line: string) => void;
}

interface ResolvedWorkerOptions {
  concurrency: number;
  workerName: string;
  cacheDir: string;
  prefix: string;
  lockDurationMs: number;
  stalledIntervalMs: number;
  maxStalledCount: number;
  log: (line: string) => void;
}

function resolveOptions(options: ClusterWorkerOptions): ResolvedWorkerOptions {
  return {
    concurrency: Math.max(1, Math.floor(options.concurrency ?? 1)),
    workerName: options.workerName ?? `${hostname()}-${process.pid}`,
    cacheDir: options.cacheDir,
    prefix: options.queuePrefix ?? defaultQueuePrefix,
    lockDurationMs: options.lockDurationMs ?? 30_000,
    stalledIntervalMs: options.stalledIntervalMs ?? 30_000,
    maxStalledCount: options.maxStalledCount ?? 2,
    log: options.log ?? ((line) => process.stderr.write(`${line}\n`)),
  };
}

/** How long a worker runs a mini-batch before it tells the submitter its name (see the processor). */
const startedNoteAfterMs = 100;

export interface ClusterWorker {
  readonly name: string;
  close(options?: { force?: boolean }): Promise<void>;
}

async function runAttempt(
  task: MiniBatchTask,
  resolved: ResolvedWorkerOptions,
  programs: ProgramCache,
): Promise<MiniBatchOutcome> {
  const started = performance.now();
  const elapsed = (): number => Math.round(performance.now() - started);
  let program;
  try {
    program = await programs.get(task);
  } catch (error) {
    const berth = toBerthError(error);
    return failedOutcome(task, resolved.workerName, elapsed(), {
      code: berth.code,
      message: berth.message,
      phase: 'init',
    });
  }
  try {
    // runMiniBatch turns the program's own failures into outcomes; only the deadline is left here.
    return await runWithTimeout(
      () => runMiniBatch(program, task, resolved.workerName),
      task.timeoutMs,
      `run() did not finish within ${task.timeoutMs / 1000} s (retry_settings.timeout)`,
    );
  } catch (error) {
    const berth = toBerthError(error, 'RUN_FAILED');
    return failedOutcome(task, resolved.workerName, elapsed(), {
      code: berth.code,
      message: berth.message,
      phase: 'run',
    });
  }
}

/** Connects, starts taking mini-batches, and resolves once connected. */
export async function startClusterWorker(options: ClusterWorkerOptions): Promise<ClusterWorker> {
  const endpoint = parseClusterAddress(options.redisUrl);
  const resolved = resolveOptions(options);
  const gpus = options.gpus ?? [];
  if (gpus.length > 1) {
    const forked = {
      redisUrl: options.redisUrl,
      workerName: resolved.workerName,
      cacheDir: resolved.cacheDir,
      queuePrefix: resolved.prefix,
      lockDurationMs: resolved.lockDurationMs,
      stalledIntervalMs: resolved.stalledIntervalMs,
      maxStalledCount: resolved.maxStalledCount,
    };
    const processes = await startGpuProcesses(forked, resolved.concurrency, gpus);
    return { name: resolved.workerName, close: (closeOptions) => processes.close(closeOptions) };
  }
  // Read by the CUDA runtime when the first GPU session opens, which is after this line.
  if (gpus[0] !== undefined) process.env.CUDA_VISIBLE_DEVICES = gpus[0];
  // The Worker's own commands (job moves, lock renewals) go through this client; BullMQ duplicates
  // it for its blocking fetch. Connected first, so an unreachable Redis fails the start at once.
  const bullClient = createRedis(endpoint, clientName(resolved.prefix, 'worker'), 'blocking');
  await connectNow(bullClient);
  // Connects on the first model download.
  const artifacts = createRedis(endpoint, clientName(resolved.prefix, 'artifacts'), 'plain');
  const fetches = new Map<string, Promise<FetchedModel>>();
  const programs = new ProgramCache(async (task) => {
    const spec = task.program;
    const where = { jobId: task.jobId, worker: resolved.workerName };
    if (spec.model === undefined)
      return loadProgram(spec, { ...where, modelDir: undefined, modelFile: undefined });
    const model = spec.model;
    // Slots opening the same model at once share one fetch (and one verification).
    let fetching = fetches.get(model.sha256);
    if (fetching === undefined) {
      fetching = fetchModel(artifacts, resolved.prefix, resolved.cacheDir, model).then((result) => {
        if (result.source !== 'cache') {
          resolved.log(
            `${resolved.workerName}: model ${model.name}:${model.version} ${result.source} (sha256 ${model.sha256.slice(0, 12)})`,
          );
        }
        return result;
      });
      fetches.set(model.sha256, fetching);
      const forget = (): void => void fetches.delete(model.sha256);
      void fetching.then(forget, forget);
    }
    const fetched = await fetching;
    return loadProgram(spec, { ...where, modelDir: fetched.modelDir, modelFile: fetched.modelFile });
  });
  const note: StartedNote = { worker: resolved.workerName, pid: process.pid, host: hostname() };

  const worker = new Worker(
    queueName,
    async (job: Job) => {
      const task = parseTask(job.data);
      // Tells the submitter who runs the attempt, once it has run long enough for that to matter
      // (status, a kill): the `active` event already said that someone took it, and the outcome
      // names the worker. A note for every mini-batch cost a Redis round trip each, and short ones
      // end before anybody could look. Losing the note costs nothing but a status line, so it is
      // never waited for.
      const noting = setTimeout(
        () => void job.updateProgress(note).catch(() => undefined),
        startedNoteAfterMs,
      );
      try {
        return await runAttempt(task, resolved, programs);
      } finally {
        clearTimeout(noting);
      }
    },
    {
      connection: bullClient,
      prefix: resolved.prefix,
      name: resolved.workerName,
      concurrency: resolved.concurrency,
      lockDuration: resolved.lockDurationMs,
      stalledInterval: resolved.stalledIntervalMs,
      maxStalledCount: resolved.maxStalledCount,
      // BullMQ waits this long after a Redis error before it polls again; its 15 s default makes a
      // 3 s network blip cost 15 s of idle workers.
      runRetryDelay: 1000,
    },
  );
  worker.on('error', (error) => resolved.log(`${resolved.workerName}: ${error.message}`));
  try {
    await worker.waitUntilReady();
  } catch (error) {
    await worker.close(true).catch(() => undefined);
    await closeRedis(bullClient);
    await closeRedis(artifacts);
    throw error;
  }

  let closing: Promise<void> | undefined;
  return {
    name: resolved.workerName,
    close(closeOptions = {}) {
      closing ??= (async () => {
        await worker.close(closeOptions.force === true);
        await programs.close();
        await closeRedis(artifacts);
        await closeRedis(bullClient);
      })();
      return closing;
    },
  };
}
