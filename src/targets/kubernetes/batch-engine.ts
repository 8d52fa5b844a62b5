/**
 * The batch engine of a Kubernetes target: the cluster engine's Redis queue, with its workers run
 * by the cluster as the pods of one Job (`parallelism` = `completions` = `resources.instance_count`).
 *
 * Why workers join the queue rather than each Job index taking a fixed shard: the coordinator
 * already owns retries, thresholds and the exactly-once output (the first success of a mini-batch
 * is the one kept), and the queue already moves the mini-batches of a dead worker to a live one.
 * A fixed shard per index would need a second output protocol, would leave a slow pod's shard
 * waiting while others idle, and could not run on a server without Indexed Jobs; the queue needs
 * none of that, so the index only names the workers.
 *
 * What this engine adds to the cluster engine: it creates the Job when the job starts (Redis is
 * reached first, so an unreachable queue creates nothing), follows the Job and its pods through
 * watches, and when the workers cannot run (the Job Failed, a pod reason waiting will not clear,
 * or a reason such as Unschedulable standing for the target's `reasonGraceMs`) it fails every
 * attempt with the cluster's reason in the `init` phase, so the coordinator stops the job with
 * that reason instead of waiting for workers that will never come. close() deletes the Job and its
 * Secret. It owns its cluster engine and watches and releases them in close().
 */
import { toBerthError } from '../../core/errors.js';
import { createClusterEngine } from '../../batch/cluster/engine.js';
import { failedOutcome } from '../../batch/cluster/messages.js';
import {
  attemptAbortError,
  type BatchEngine,
  type BatchEngineContext,
  type ExecuteHooks,
  type MiniBatchOutcome,
  type MiniBatchTask,
} from '../../batch/engine.js';
import { applyBatchJob, deleteBatchJob, workerImageOf } from './batch-cluster.js';
import { batchWorkersState, type JobView } from './batch-state.js';
import { Cluster } from './client.js';
import type { ResolvedKubernetesTargetConfig } from './config.js';
import { follow } from './rollout.js';
import type { PodView } from './state.js';
import { publishWorkerImage } from './worker-image.js';

interface Named {
  metadata?: { name?: string };
}

class KubernetesBatchEngine implements BatchEngine {
  readonly kind = 'kubernetes' as const;
  readonly #down = new AbortController();
  readonly #pods = new Map<string, PodView>();
  readonly #stops: (() => void)[] = [];
  #job: JobView | undefined;
  #lastReason: string | undefined;
  #troubleSince: number | undefined;
  #blocked: string | undefined;
  #closed = false;
  readonly #graceTimer: NodeJS.Timeout;

  constructor(
    private readonly cluster: Cluster,
    private readonly config: ResolvedKubernetesTargetConfig,
    private readonly context: BatchEngineContext,
    private readonly inner: BatchEngine,
    private readonly job: { name: string; selector: string; object: string },
  ) {
    // A reason that stands still sends no event: the grace period is checked on a clock too.
    this.#graceTimer = setInterval(
      () => this.#evaluate(),
      Math.max(250, Math.min(config.reasonGraceMs, 5000)),
    );
  }

  async watch(): Promise<void> {
    const namespacePath = `/namespaces/${this.cluster.namespace}`;
    const stopped = () => this.#closed;
    const onError = (error: unknown) =>
      this.#log(`watch ended: ${toBerthError(error).message} (status still reads the cluster)`);
    this.#stops.push(
      await follow(
        this.cluster,
        `/apis/batch/v1${namespacePath}/jobs`,
        { fieldSelector: `metadata.name=${this.job.name}` },
        (type, object) => {
          this.#job = type === 'DELETED' ? undefined : (object as JobView);
          this.#evaluate();
        },
        stopped,
        onError,
      ),
      await follow(
        this.cluster,
        `/api/v1${namespacePath}/pods`,
        { labelSelector: this.job.selector },
        (type, object) => {
          const name = (object as Named).metadata?.name ?? '';
          if (type === 'DELETED') this.#pods.delete(name);
          else this.#pods.set(name, object as PodView);
          this.#evaluate();
        },
        stopped,
        onError,
      ),
    );
  }

  #evaluate(): void {
    if (this.#closed || this.#blocked !== undefined || this.#job === undefined) return;
    const state = batchWorkersState(this.job.object, this.#job, [...this.#pods.values()]);
    if (state.reason !== this.#lastReason) {
      this.#lastReason = state.reason;
      this.#log(`${this.job.object}: ${state.state}${state.reason === undefined ? '' : `: ${state.reason}`}`);
    }
    if (state.blocking === 'soft') this.#troubleSince ??= Date.now();
    else this.#troubleSince = undefined;
    const graceOver =
      this.#troubleSince !== undefined && Date.now() - this.#troubleSince >= this.config.reasonGraceMs;
    if (state.blocking === 'hard' || graceOver) {
      const waited = graceOver ? ` (for ${Math.round(this.config.reasonGraceMs / 1000)} s)` : '';
      this.#blocked = `the worker pods cannot run${waited}: ${state.reason ?? state.state}`;
      this.#log(this.#blocked);
      this.#down.abort();
    }
  }

  #log(line: string): void {
    this.context.log({ worker: 'kubernetes', stream: 'berth', line });
  }

  #blockedOutcome(task: MiniBatchTask, started: number): MiniBatchOutcome {
    return failedOutcome(task, this.job.object, Math.round(performance.now() - started), {
      code: 'RUN_FAILED',
      message: this.#blocked ?? 'the worker pods cannot run',
      phase: 'init',
    });
  }

  async execute(task: MiniBatchTask, signal?: AbortSignal, hooks?: ExecuteHooks): Promise<MiniBatchOutcome> {
    const started = performance.now();
    signal?.throwIfAborted();
    if (this.#blocked !== undefined) return this.#blockedOutcome(task, started);
    const both = signal === undefined ? this.#down.signal : AbortSignal.any([signal, this.#down.signal]);
    try {
      return await this.inner.execute(task, both, hooks);
    } catch (error) {
      if (signal?.aborted === true) throw attemptAbortError(signal);
      if (this.#blocked !== undefined) return this.#blockedOutcome(task, started);
      throw error;
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#graceTimer);
    for (const stop of this.#stops) stop();
    await this.inner.close();
    // The workers serve no other job: their Job and Secret go with it.
    const deleted = await deleteBatchJob(this.cluster, this.config.name, this.context.jobId, 0).catch(
      (error: unknown) => {
        this.#log(`deleting the job's objects: ${toBerthError(error).message}`);
        return [];
      },
    );
    if (deleted.length > 0) this.#log(`deleted ${deleted.join(', ')}`);
  }
}

export async function createKubernetesBatchEngine(
  config: ResolvedKubernetesTargetConfig,
  context: BatchEngineContext,
): Promise<BatchEngine> {
  const cluster = Cluster.open(config);
  const settings = config.batch;
  const log = (line: string) => context.log({ worker: 'kubernetes', stream: 'berth', line });
  if (settings === undefined) {
    // Reported by the target registry before a job is made; kept for a record edited by hand.
    throw toBerthError(new Error(`kubernetes target ${config.name} has no batchRedis`), 'INVALID_SPEC');
  }
  if (context.gpus !== undefined) {
    log(`--gpus ${context.gpus.join(',')} is not honoured on Kubernetes: the worker pods request no GPU`);
  }
  // Redis first: when the queue cannot be reached, nothing is created in the cluster.
  const inner = await createClusterEngine({
    redisUrl: settings.redis,
    queuePrefix: settings.queuePrefix,
    log: (line) => context.log(line),
  });
  let engine: KubernetesBatchEngine | undefined;
  try {
    // Then the image (built and pushed when berth makes it), so the pods never wait for a tag
    // that is not in the registry yet.
    const image = await workerImageOf(config);
    if (image.build !== undefined) await publishWorkerImage(config, image.build, log);
    const applied = await applyBatchJob(cluster, config, {
      jobId: context.jobId,
      instanceCount: context.instanceCount,
      concurrency: context.maxConcurrencyPerInstance,
      image,
    });
    for (const warning of applied.warnings) log(`warning: ${warning}`);
    for (const action of applied.actions) log(action);
    const { name, selector } = applied.manifests;
    engine = new KubernetesBatchEngine(cluster, config, context, inner, {
      name,
      selector,
      object: `Job ${cluster.namespace}/${name}`,
    });
    await engine.watch();
    return engine;
  } catch (error) {
    if (engine !== undefined) await engine.close();
    else {
      await inner.close();
      await deleteBatchJob(cluster, config.name, context.jobId, 0).catch(() => []);
    }
    throw error;
  }
}
