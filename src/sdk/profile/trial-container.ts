/**
 * Trial replicas on a container target: each run of a profile deploys the model as a one-replica
 * deployment on the target's Docker Engine (the same image and scoring options a deployment there
 * gets), sends the load to the container's published port with its replica token, and reads the
 * container's memory and CPU from the engine (`docker stats`, one shot: the cgroup's usage less its
 * inactive file cache, as `docker stats` shows it, and its CPU time), not this machine's processes.
 * The deployment is removed after each run; the image stays cached for the next profile.
 */
import { randomBytes } from 'node:crypto';
import { BerthError } from '../../core/errors.js';
import { REPLICA_TOKEN_HEADER } from '../../core/replica-token.js';
import type { DeploymentSpec } from '../../core/specs/index.js';
import type { ModelOperations } from '../../registry/model-operations.js';
import { createContainerTarget, type ContainerTargetConfig } from '../../targets/container/index.js';
import { engineResources, type Engine } from '../../targets/container/engine.js';
import { resolveDeployment } from '../../targets/resolve-deployment.js';
import type { Progress } from '../../targets/target.js';
import type { ResourceSample, TrialOptions, TrialReplica, TrialSite } from './trial.js';

interface DockerStats {
  memory_stats?: { usage?: number; stats?: Record<string, number> };
  cpu_stats?: { cpu_usage?: { total_usage?: number } };
}

/** The engine's one-shot stats of a container: no wait for a second reading. */
async function readStats(engine: Engine, id: string): Promise<ResourceSample | undefined> {
  try {
    const stats = (await engine
      .getContainer(id)
      .stats({ stream: false, 'one-shot': true } as object)) as DockerStats;
    const usage = stats.memory_stats?.usage;
    const cpu = stats.cpu_stats?.cpu_usage?.total_usage;
    if (typeof usage !== 'number' || typeof cpu !== 'number') return undefined;
    const cache = stats.memory_stats?.stats;
    // cgroup v1 names it total_inactive_file, v2 inactive_file; docker stats subtracts it too.
    const inactive = cache?.total_inactive_file ?? cache?.inactive_file ?? 0;
    return { memoryBytes: Math.max(0, usage - inactive), peakMemoryBytes: undefined, cpuSeconds: cpu / 1e9 };
  } catch {
    return undefined;
  }
}

export interface ContainerSiteOptions {
  /** The target's settings (a recorded target's, with the workspace's defaults), kind container. */
  config: ContainerTargetConfig & { name: string };
  /** Resolves the model as a deployment does (the workspace's model operations). */
  workspace: { models: Pick<ModelOperations, 'register' | 'localFiles'> };
  /** NAME:VERSION of the model. */
  model: string;
  progress: Progress;
}

export async function containerSite(options: ContainerSiteOptions): Promise<TrialSite> {
  const target = createContainerTarget(options.config);
  const name = options.config.name;
  let cores: number;
  try {
    cores = (await engineResources(target.engine, target.config.dockerHost)).cpus;
  } catch (error) {
    await target.close();
    throw error;
  }
  // One endpoint name per profile, so two profiles on one target never meet.
  const endpoint = `profile-${randomBytes(4).toString('hex')}`;
  const start = async (trial: TrialOptions): Promise<TrialReplica> => {
    const spec: DeploymentSpec = {
      name: `trial-b${trial.maxBatchSize}`,
      endpoint_name: endpoint,
      model: options.model,
      instance_count: 1,
      request_settings: {
        max_concurrent_requests_per_instance: Math.max(trial.maxConcurrency, 2 * trial.maxBatchSize),
        request_timeout_ms: 60_000,
      },
      ...(trial.maxBatchSize > 1 ? { batching: { enabled: true, max_batch_size: trial.maxBatchSize } } : {}),
    };
    const { resolved } = await resolveDeployment(spec, options.workspace, name, {
      baseDir: process.cwd(),
      kind: 'container',
    });
    const handle = await target.deploy(resolved, options.progress);
    const stop = (): Promise<void> => target.remove(handle);
    const replica = target.currentReplicas(handle).find((r) => r.state === 'ready');
    const container = (handle.data.replicas as { id: string; container: string }[] | undefined)?.find(
      (entry) => entry.id === replica?.id,
    )?.container;
    if (replica?.url === undefined || container === undefined) {
      await stop();
      throw new BerthError('NOT_READY', `the trial container on target ${name} did not become ready`);
    }
    return {
      url: replica.url,
      headers: replica.token === undefined ? {} : { [REPLICA_TOKEN_HEADER]: replica.token },
      sample: () => readStats(target.engine, container),
      stop,
    };
  };
  return {
    target: name,
    cores,
    memorySource: "peak memory of the container (the engine's stats, less inactive file cache)",
    start,
    close: () => target.close(),
  };
}
