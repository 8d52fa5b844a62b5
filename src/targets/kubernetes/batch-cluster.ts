/**
 * A batch job's objects in the cluster: validated by a server-side dry run and applied with
 * server-side apply (field manager `berth`), read back for `batch status`, and deleted by their
 * labels for `batch cancel` and at the job's end. Whether the server keeps `completionMode:
 * Indexed` is asked of the server itself (a dry run), never inferred from its version.
 */
import { BerthError } from '../../core/errors.js';
import { batchJobManifests, batchJobName, batchJobSelector, type BatchJobManifests } from './batch-job.js';
import { batchWorkersState, type BatchWorkersState, type JobView } from './batch-state.js';
import type { Cluster } from './client.js';
import type { ResolvedKubernetesTargetConfig } from './config.js';
import { describeObject, type KubeObject } from './objects.js';
import { builtWorkerCommand, planWorkerImage, type WorkerImage } from './worker-image.js';

export interface BatchJobRequest {
  jobId: string;
  instanceCount: number;
  concurrency: number;
  /** The worker image. Default: the target's (`workerImageOf`). */
  image?: JobWorkerImage;
}

/** The image the Job's pods run, what runs `worker` in it, and the plan when berth builds it. */
export interface JobWorkerImage {
  name: string;
  command: string[];
  build: WorkerImage | undefined;
}

export interface PlannedBatchJob {
  manifests: BatchJobManifests;
  warnings: string[];
}

function settingsOf(config: ResolvedKubernetesTargetConfig) {
  if (config.batch === undefined) {
    throw new BerthError(
      'INVALID_SPEC',
      `kubernetes target ${config.name} has no batchRedis: its batch workers share a Redis queue (berth target create ${config.name} --type kubernetes --batch-redis redis://host:port …)`,
    );
  }
  return config.batch;
}

/** The target's worker image: `batchImage` run as `berth`, else the one berth builds (named, not built, here). */
export async function workerImageOf(config: ResolvedKubernetesTargetConfig): Promise<JobWorkerImage> {
  const { image } = settingsOf(config);
  if (image.kind === 'given') return { name: image.name, command: ['berth'], build: undefined };
  const build = await planWorkerImage(config);
  return { name: build.name, command: builtWorkerCommand, build };
}

/** The manifests as they would be without a server to ask: an Indexed Job. */
export async function offlineBatchJob(
  config: ResolvedKubernetesTargetConfig,
  request: BatchJobRequest,
): Promise<BatchJobManifests> {
  return batchJobManifests({
    ...request,
    target: config.name,
    namespace: config.namespace ?? 'default',
    settings: settingsOf(config),
    imagePullSecret: config.imagePullSecret,
    image: request.image ?? (await workerImageOf(config)),
    indexed: true,
  });
}

/**
 * The manifests for the server `cluster` reaches, every object validated by a dry run. An Indexed
 * Job where the server keeps `completionMode`; else (Kubernetes before 1.21, or the feature off) a
 * Job with the same completions and parallelism, and a warning: the workers share one queue, so
 * they need no index to split the work.
 */
export async function planBatchJob(
  cluster: Cluster,
  config: ResolvedKubernetesTargetConfig,
  request: BatchJobRequest,
): Promise<PlannedBatchJob> {
  const input = {
    ...request,
    target: config.name,
    namespace: cluster.namespace,
    settings: settingsOf(config),
    imagePullSecret: config.imagePullSecret,
    image: request.image ?? (await workerImageOf(config)),
  };
  const warnings: string[] = [];
  let manifests = batchJobManifests({ ...input, indexed: true });
  const job = manifests.objects.find((object) => object.kind === 'Job') as KubeObject;
  let indexed: boolean;
  try {
    const checked = await cluster.apply(job, true);
    indexed = (checked.object.spec as { completionMode?: string } | undefined)?.completionMode === 'Indexed';
  } catch (error) {
    if (!(error instanceof Error && /completionMode/.test(error.message))) throw error;
    indexed = false;
  }
  if (!indexed) {
    warnings.push(
      `the cluster at ${cluster.server} has no Indexed Jobs (completionMode: Kubernetes 1.21+): the workers run as a Job of ${request.instanceCount} completion(s) without indexes, taking mini-batches from the shared queue as they would with them`,
    );
    manifests = batchJobManifests({ ...input, indexed: false });
  }
  for (const object of manifests.objects) await cluster.apply(object, true);
  return { manifests, warnings };
}

/** Validates, then applies; returns what each apply did. Nothing is applied when one object is refused. */
export async function applyBatchJob(
  cluster: Cluster,
  config: ResolvedKubernetesTargetConfig,
  request: BatchJobRequest,
): Promise<PlannedBatchJob & { actions: string[] }> {
  const planned = await planBatchJob(cluster, config, request);
  const actions: string[] = [];
  for (const object of planned.manifests.objects) {
    const applied = await cluster.apply(object);
    actions.push(`${describeObject(object)} ${applied.action}`);
  }
  return { ...planned, actions };
}

const ownedKinds: [string, string][] = [
  ['batch/v1', 'Job'],
  ['v1', 'Secret'],
];

/** Everything of the job still in the cluster: its Job, its Secret, and the pods made from the Job. */
export async function batchLeftovers(cluster: Cluster, target: string, jobId: string): Promise<KubeObject[]> {
  const selector = batchJobSelector(target, jobId);
  const found = await Promise.all(
    [...ownedKinds, ['v1', 'Pod'] as [string, string]].map(([apiVersion, kind]) =>
      cluster.list(apiVersion, kind, selector),
    ),
  );
  return found.flat();
}

/**
 * Deletes the job's Job and Secret (selected by berth's labels and the job id, nothing else), then
 * waits up to `waitMs` (0: not at all) until their pods are gone too. Returns what it deleted; none is not an error.
 */
export async function deleteBatchJob(
  cluster: Cluster,
  target: string,
  jobId: string,
  waitMs = 60_000,
): Promise<string[]> {
  const selector = batchJobSelector(target, jobId);
  const deleted: string[] = [];
  for (const [apiVersion, kind] of ownedKinds) {
    for (const object of await cluster.list(apiVersion, kind, selector)) {
      await cluster.delete(object);
      deleted.push(describeObject(object));
    }
  }
  if (waitMs <= 0) return deleted;
  const deadline = Date.now() + waitMs;
  for (;;) {
    const left = await batchLeftovers(cluster, target, jobId);
    if (left.length === 0) return deleted;
    if (Date.now() > deadline) {
      throw new BerthError(
        'RUN_FAILED',
        `batch job ${jobId}: still in the cluster after ${Math.round(waitMs / 1000)} s: ${left.map(describeObject).join(', ')}`,
      );
    }
    // The pods go with the garbage collector, after their Job.
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** The job's workers as the cluster has them now (one read of the Job and its pods). */
export async function readBatchWorkers(
  cluster: Cluster,
  target: string,
  jobId: string,
): Promise<BatchWorkersState> {
  const name = batchJobName(jobId);
  const selector = batchJobSelector(target, jobId);
  const [jobs, pods] = await Promise.all([
    cluster.list('batch/v1', 'Job', selector),
    cluster.list('v1', 'Pod', selector),
  ]);
  const job = jobs.find((object) => object.metadata.name === name) as JobView | undefined;
  return batchWorkersState(`Job ${cluster.namespace}/${name}`, job, pods);
}
