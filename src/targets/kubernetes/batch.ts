/**
 * What the target registry's batch facet asks of a Kubernetes target: its workers' state for
 * `batch status`, the removal of its objects for `batch cancel`, and `batch run --dry-run`'s
 * manifests. Loaded on use, so a registry that only serves other targets never loads the client.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import type { TargetWorkersState } from '../../batch/engine.js';
import { toBerthError } from '../../core/errors.js';
import {
  deleteBatchJob,
  offlineBatchJob,
  planBatchJob,
  readBatchWorkers,
  type BatchJobRequest,
} from './batch-cluster.js';
import { Cluster } from './client.js';
import type { ResolvedKubernetesTargetConfig } from './config.js';

export { createKubernetesBatchEngine } from './batch-engine.js';

export async function kubernetesBatchWorkers(
  config: ResolvedKubernetesTargetConfig,
  jobId: string,
): Promise<TargetWorkersState> {
  try {
    const { blocking: _blocking, ...state } = await readBatchWorkers(
      Cluster.open(config),
      config.name,
      jobId,
    );
    return state;
  } catch (error) {
    return {
      object: `the Job of ${jobId}`,
      state: 'Unknown',
      reason: `the cluster was not read: ${toBerthError(error).message}`,
      pods: [],
    };
  }
}

/** Deletes the job's Job and Secret and waits until their pods are gone; returns what it deleted. */
export async function releaseKubernetesBatch(
  config: ResolvedKubernetesTargetConfig,
  jobId: string,
): Promise<string[]> {
  return deleteBatchJob(Cluster.open(config), config.name, jobId);
}

/**
 * Writes the job's objects as YAML files into `outputDir`, nothing applied: validated by the
 * server's dry run when it answers, else as they would be for a server with Indexed Jobs (a warning says so).
 */
export async function writeKubernetesBatchManifests(
  config: ResolvedKubernetesTargetConfig,
  request: BatchJobRequest,
  outputDir: string,
): Promise<{ files: string[]; warnings: string[] }> {
  const warnings: string[] = [];
  let objects;
  try {
    const planned = await planBatchJob(Cluster.open(config), config, request);
    warnings.push(...planned.warnings);
    objects = planned.manifests.objects;
  } catch (error) {
    const berth = toBerthError(error);
    // A refusal by the server is the answer; only an unreachable one falls back.
    if (berth.code !== 'NOT_READY' && !/no kubeconfig|cannot read/.test(berth.message)) throw berth;
    warnings.push(`the cluster was not asked (${berth.message}): written as an Indexed Job, not validated`);
    objects = (await offlineBatchJob(config, request)).objects;
  }
  const dir = resolve(outputDir);
  await mkdir(dir, { recursive: true });
  const files: string[] = [];
  for (const [index, object] of objects.entries()) {
    const file = join(
      dir,
      `${String(index + 1).padStart(2, '0')}-${object.kind.toLowerCase()}-${object.metadata.name}.yaml`,
    );
    await writeFile(file, stringify(object), { mode: object.kind === 'Secret' ? 0o600 : 0o644 });
    files.push(file);
  }
  return { files, warnings };
}
