/**
 * The objects of one batch job on a Kubernetes target, pure: a Secret holding the Redis address
 * the workers use (it may carry a password, so it is not written into the Job), and a Job whose
 * pods each run `berth worker` on the cluster engine's queue. `completions` and `parallelism` are
 * both `resources.instance_count`: one pod per worker, all at once. `completionMode: Indexed` where
 * the server has Indexed Jobs (1.21+ with the feature, on by default from 1.22), where each pod's
 * name, which is its worker's name, carries its index. Every object carries berth's labels and the job id, which is all that
 * cancel and status select on.
 */
import { createHash } from 'node:crypto';
import type { KubernetesBatchSettings } from './batch-settings.js';
import { labelValue, managedByLabel, targetLabel } from './names.js';
import type { KubeObject } from './objects.js';

export const batchJobLabel = 'berth.dev/batch-job';
export const redisKey = 'redis';
/** Where models are cached inside a worker pod (an emptyDir). */
export const workerCacheDir = '/var/cache/berth-worker';

export interface BatchJobInput {
  jobId: string;
  target: string;
  namespace: string;
  settings: KubernetesBatchSettings;
  imagePullSecret: string | undefined;
  /** The worker image's name and what runs it (`berth`, or node on the bundle in a berth-built one). */
  image: { name: string; command: string[] };
  instanceCount: number;
  concurrency: number;
  /** Whether the server keeps `completionMode: Indexed` (probed with a dry run, batch-engine.ts). */
  indexed: boolean;
}

export interface BatchJobManifests {
  name: string;
  labels: Record<string, string>;
  selector: string;
  objects: KubeObject[];
}

/** `berth-batch-<job id>` made a DNS-1123 label short enough for the pod names the Job controller derives. */
export function batchJobName(jobId: string): string {
  const cleaned = `berth-batch-${jobId}`.toLowerCase().replace(/[^a-z0-9-]/g, '-');
  if (cleaned.length <= 52 && /[a-z0-9]$/.test(cleaned) && cleaned === `berth-batch-${jobId}`) return cleaned;
  const hash = createHash('sha256').update(jobId).digest('hex').slice(0, 8);
  return `${cleaned.slice(0, 43).replace(/-+$/, '')}-${hash}`;
}

export function batchJobLabels(target: string, jobId: string): Record<string, string> {
  return {
    [managedByLabel]: 'berth',
    [targetLabel]: labelValue(target),
    [batchJobLabel]: labelValue(jobId),
  };
}

export function batchJobSelector(target: string, jobId: string): string {
  return Object.entries(batchJobLabels(target, jobId))
    .map(([key, value]) => `${key}=${value}`)
    .join(',');
}

export function batchJobManifests(input: BatchJobInput): BatchJobManifests {
  const name = batchJobName(input.jobId);
  const labels = batchJobLabels(input.target, input.jobId);
  const metadata = { name, namespace: input.namespace, labels };
  const { settings } = input;
  const secret: KubeObject = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata,
    type: 'Opaque',
    data: { [redisKey]: Buffer.from(settings.redisInCluster).toString('base64') },
  };
  const volumes: Record<string, unknown>[] = [{ name: 'worker-cache', emptyDir: {} }];
  const mounts: Record<string, unknown>[] = [{ name: 'worker-cache', mountPath: workerCacheDir }];
  if (settings.volume !== undefined) {
    const { path, claim } = settings.volume;
    volumes.push(
      claim === undefined
        ? { name: 'data', hostPath: { path, type: 'Directory' } }
        : { name: 'data', persistentVolumeClaim: { claimName: claim } },
    );
    mounts.push({ name: 'data', mountPath: path });
  }
  const container = {
    name: 'worker',
    image: input.image.name,
    command: input.image.command,
    // $(VAR) is expanded by the kubelet from the container's environment.
    args: [
      'worker',
      '--cluster',
      '$(BERTH_BATCH_REDIS)',
      '--queue-prefix',
      settings.queuePrefix,
      '--concurrency',
      String(input.concurrency),
      '--name',
      '$(BERTH_WORKER_NAME)',
      '--cache-dir',
      workerCacheDir,
    ],
    env: [
      { name: 'BERTH_BATCH_REDIS', valueFrom: { secretKeyRef: { name, key: redisKey } } },
      { name: 'BERTH_WORKER_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
    ],
    volumeMounts: mounts,
  };
  const job: KubeObject = {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata,
    spec: {
      ...(input.indexed ? { completionMode: 'Indexed' } : {}),
      completions: input.instanceCount,
      parallelism: input.instanceCount,
      // A worker that crashes is restarted in its pod; its mini-batch stalls and runs again elsewhere.
      backoffLimit: Math.max(6, input.instanceCount * 2),
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: 'OnFailure',
          // SIGTERM: the worker finishes the mini-batches in hand (they stall and move on after this).
          terminationGracePeriodSeconds: 30,
          containers: [container],
          volumes,
          ...(input.imagePullSecret === undefined
            ? {}
            : { imagePullSecrets: [{ name: input.imagePullSecret }] }),
        },
      },
    },
  };
  return {
    name,
    labels,
    selector: batchJobSelector(input.target, input.jobId),
    objects: [secret, job],
  };
}
