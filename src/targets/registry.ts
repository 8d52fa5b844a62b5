/**
 * The one registry of targets: for each kind, the work it serves, provided from one place.
 *
 * - `realtime(config)`: the ComputeTarget that runs deployments behind endpoints. A kind that
 *   serves none today gets the NotImplementedTarget stand-in, which refuses with the reason.
 * - `batch`: the engine its batch jobs run on, bound to the target's settings; undefined when the
 *   kind runs none today. `local` runs them in worker processes on this machine (the embedded
 *   engine), `ssh` in worker processes on its machine, `cluster` on BullMQ workers that share its
 *   Redis queue, `kubernetes` on such workers run as the pods of a Job in the cluster.
 * - Command jobs (training) get their facet here when src/jobs lands; no kind runs them yet.
 *
 * The capabilities table says what each kind serves (`work`: ready, planned, no);
 * test/targets/table.test.ts holds this registry to it, so a kind provides exactly its `ready`
 * work. The mapped type makes a kind without a provider (or a factory fed the wrong config) a
 * compile error, so adding a kind to `targetKinds` forces a row here. Engines are imported on first
 * use: BullMQ is heavy, and a control plane serving endpoints never loads it.
 */
import { BerthError } from '../core/errors.js';
import type { BatchEngineFactory, BatchEngineKind, TargetWorkersState } from '../batch/engine.js';
import { clusterTargetConfigSchema } from '../batch/cluster/config.js';
import { targetCapabilities } from './capabilities.js';
import { parseTargetConfig, type TargetConfig } from './config.js';
import { createContainerTarget } from './container/index.js';
import { createEdgeTarget } from './edge/index.js';
import { createFunctionTarget } from './function/index.js';
import { resolveKubernetesTargetConfig } from './kubernetes/config.js';
import { createKubernetesTarget } from './kubernetes/index.js';
import { createLocalTarget } from './local/index.js';
import { NotImplementedTarget } from './not-implemented.js';
import { createSshTarget, resolveSshTargetConfig, sshTargetConfigSchema } from './ssh/index.js';
import { targetKinds, type ComputeTarget, type TargetKind } from './target.js';

export type TargetConfigOf<K extends TargetKind> = Extract<TargetConfig, { kind: K }>;
export type TargetFactory<K extends TargetKind> = (config: TargetConfigOf<K>) => ComputeTarget;

/** A target's settings as stored (a named target's record) or as a job keeps them. */
export type TargetSettings = { kind: string; name?: string } & Record<string, unknown>;

/** A target ready to run one batch job: what the job records, and the engine factory for it. */
export interface BatchTarget {
  engine: BatchEngineKind;
  /** The settings checked, defaults filled: kept in the job's record, so a resume runs where the job started. */
  config: TargetSettings;
  factory: BatchEngineFactory;
}

export interface BatchFacet {
  readonly engine: BatchEngineKind;
  /** Checks the target's settings (INVALID_SPEC naming the bad one) and binds the engine to them. */
  open(settings: TargetSettings): BatchTarget;
  /**
   * Optional: for a target that runs a job's workers as objects of its own (a Kubernetes Job).
   * `workers` reads their state for `batch status`; `release` deletes exactly those objects
   * (`batch cancel`, also when the job's coordinator is gone); `writeManifests` writes them as
   * files, nothing applied (`batch run --dry-run`). `config` is the BatchTarget's config.
   */
  workers?: (config: TargetSettings, jobId: string) => Promise<TargetWorkersState>;
  release?: (config: TargetSettings, jobId: string) => Promise<string[]>;
  writeManifests?: (
    config: TargetSettings,
    request: { jobId: string; instanceCount: number; concurrency: number },
    outputDir: string,
  ) => Promise<{ files: string[]; warnings: string[] }>;
}

export interface TargetProvider<K extends TargetKind> {
  realtime: TargetFactory<K>;
  batch: BatchFacet | undefined;
}

const embeddedBatch: BatchFacet = {
  engine: 'embedded',
  open: (settings) => ({
    engine: 'embedded',
    config: { kind: settings.kind, name: settings.name ?? settings.kind },
    factory: async (context) => (await import('../batch/embedded/engine.js')).createEmbeddedEngine(context),
  }),
};

const clusterBatch: BatchFacet = {
  engine: 'cluster',
  open: (settings) => {
    const parsed = clusterTargetConfigSchema.safeParse(settings);
    if (!parsed.success) {
      const issues = parsed.error.issues.map(
        (issue) => `${issue.path.join('.') || 'kind'}: ${issue.message}`,
      );
      throw new BerthError('INVALID_SPEC', `cluster target ${settings.name ?? ''}: ${issues.join('; ')}`);
    }
    const config = parsed.data;
    return {
      engine: 'cluster',
      config,
      factory: async (context) => {
        const { createClusterEngine } = await import('../batch/cluster/engine.js');
        return createClusterEngine({
          redisUrl: config.redis,
          queuePrefix: config.queuePrefix,
          log: (line) => context.log(line),
        });
      },
    };
  },
};

/** Batch on a machine over SSH: the embedded engine's workers run there (ssh/batch-engine.ts). */
const sshBatch: BatchFacet = {
  engine: 'ssh',
  open: (settings) => {
    const config = resolveSshTargetConfig(settings);
    return {
      engine: 'ssh',
      config: sshTargetConfigSchema.parse(settings),
      factory: async (context) =>
        (await import('./ssh/batch-engine.js')).createSshBatchEngine(config, context),
    };
  },
};

/**
 * Batch on a Kubernetes target: an (Indexed) Job whose pods are workers of the cluster engine's
 * queue (kubernetes/batch-engine.ts). The record keeps the settings with the kubeconfig resolved,
 * so a resume, status or cancel reaches the same cluster.
 */
const kubernetesBatch: BatchFacet = {
  engine: 'kubernetes',
  open: (settings) => {
    const config = resolveKubernetesTargetConfig(settings);
    if (config.batch === undefined) {
      throw new BerthError(
        'INVALID_SPEC',
        `kubernetes target ${config.name} has no batchRedis: its batch workers share a Redis queue (berth target create NAME --type kubernetes --batch-redis redis://host:port …)`,
      );
    }
    return {
      engine: 'kubernetes',
      config: { ...settings, kind: 'kubernetes', name: config.name, kubeconfig: config.kubeconfig },
      factory: async (context) =>
        (await import('./kubernetes/batch.js')).createKubernetesBatchEngine(config, context),
    };
  },
  workers: async (config, jobId) =>
    (await import('./kubernetes/batch.js')).kubernetesBatchWorkers(
      resolveKubernetesTargetConfig(config),
      jobId,
    ),
  release: async (config, jobId) =>
    (await import('./kubernetes/batch.js')).releaseKubernetesBatch(
      resolveKubernetesTargetConfig(config),
      jobId,
    ),
  writeManifests: async (config, request, outputDir) =>
    (await import('./kubernetes/batch.js')).writeKubernetesBatchManifests(
      resolveKubernetesTargetConfig(config),
      request,
      outputDir,
    ),
};

export const targetProviders: { readonly [K in TargetKind]: TargetProvider<K> } = {
  local: { realtime: (config) => createLocalTarget(config), batch: embeddedBatch },
  ssh: { realtime: (config) => createSshTarget(config), batch: sshBatch },
  container: { realtime: (config) => createContainerTarget(config), batch: undefined },
  kubernetes: { realtime: (config) => createKubernetesTarget(config), batch: kubernetesBatch },
  cluster: { realtime: () => new NotImplementedTarget('cluster'), batch: clusterBatch },
  function: { realtime: (config) => createFunctionTarget(config), batch: undefined },
  edge: { realtime: (config) => createEdgeTarget(config), batch: undefined },
};

/** Builds the real-time adapter for a config; the adapter owns what it opens until close(). */
export function createTarget(config: TargetConfig): ComputeTarget {
  const factory = targetProviders[config.kind].realtime as TargetFactory<TargetKind>;
  return factory(config);
}

function isKind(kind: string): kind is TargetKind {
  return (targetKinds as readonly string[]).includes(kind);
}

/**
 * The real-time adapter for stored settings (a kind alone, or a named target's record). A kind that
 * serves no real-time traffic today gets its stand-in before its settings are read, so deploying
 * to a cluster says that a cluster runs batch jobs, not that its Redis address is missing.
 */
export function realtimeTarget(settings: TargetSettings): ComputeTarget {
  const { kind } = settings;
  if (isKind(kind) && targetCapabilities[kind].work.realtime !== 'ready')
    return new NotImplementedTarget(kind);
  return createTarget(parseTargetConfig(settings));
}

/**
 * The batch engine of the target `settings` describe (a kind alone, or a named target's record):
 * INVALID_SPEC when the kind runs no batch jobs, NOT_IMPLEMENTED when it will but does not yet.
 */
export function openBatchTarget(settings: TargetSettings): BatchTarget {
  const { kind } = settings;
  if (!isKind(kind)) throw new BerthError('INVALID_SPEC', `unknown target kind ${JSON.stringify(kind)}`);
  const facet = targetProviders[kind].batch;
  if (facet !== undefined) return facet.open(settings);
  const named =
    settings.name === undefined || settings.name === kind ? `"${kind}"` : `"${settings.name}" (${kind})`;
  const ready = targetKinds.filter((other) => targetCapabilities[other].work.batch === 'ready');
  const instead = `run batch jobs on ${ready.join(' or ')} (berth target list)`;
  if (targetCapabilities[kind].work.batch === 'planned') {
    throw new BerthError('NOT_IMPLEMENTED', `target ${named} will run batch jobs, but not yet: ${instead}`);
  }
  throw new BerthError('INVALID_SPEC', `target ${named} runs no batch jobs: ${instead}`);
}

/** The batch facet of the kind `settings` names; undefined when it runs no batch jobs. */
export function batchFacetOf(settings: TargetSettings): BatchFacet | undefined {
  return isKind(settings.kind) ? targetProviders[settings.kind].batch : undefined;
}
