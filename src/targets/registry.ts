/**
 * The one registry of targets: for each kind, the work it serves, provided from one place.
 *
 * - `realtime(config)`: the ComputeTarget that runs deployments behind endpoints. A kind that
 *   serves none today gets the NotImplementedTarget stand-in, which refuses with the reason.
 * - `batch`: the engine its batch jobs run on, bound to the target's settings; undefined when the
 *   kind runs none today. `local` runs them in worker processes on this machine (the embedded
 *   engine), `cluster` on BullMQ workers that share its Redis queue.
 * - Command jobs (training) get their facet here when src/jobs lands; no kind runs them yet.
 *
 * The capabilities table says what each kind serves (`work`: ready, planned, no);
 * test/targets/table.test.ts holds this registry to it, so a kind provides exactly its `ready`
 * work. The mapped type makes a kind without a provider (or a factory fed the wrong config) a
 * compile error, so adding a kind to `targetKinds` forces a row here. Engines are imported on first
 * use: BullMQ is heavy, and a control plane serving endpoints never loads it.
 */
import { BerthError } from '../core/errors.js';
import type { BatchEngineFactory, BatchEngineKind } from '../batch/engine.js';
import { clusterTargetConfigSchema } from '../batch/cluster/config.js';
import { targetCapabilities } from './capabilities.js';
import { parseTargetConfig, type TargetConfig } from './config.js';
import { createContainerTarget } from './container/index.js';
import { createFunctionTarget } from './function/index.js';
import { createLocalTarget } from './local/index.js';
import { NotImplementedTarget } from './not-implemented.js';
import { createSshTarget } from './ssh/index.js';
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

export const targetProviders: { readonly [K in TargetKind]: TargetProvider<K> } = {
  local: { realtime: (config) => createLocalTarget(config), batch: embeddedBatch },
  ssh: { realtime: (config) => createSshTarget(config), batch: undefined },
  container: { realtime: (config) => createContainerTarget(config), batch: undefined },
  kubernetes: { realtime: () => new NotImplementedTarget('kubernetes'), batch: undefined },
  cluster: { realtime: () => new NotImplementedTarget('cluster'), batch: clusterBatch },
  function: { realtime: (config) => createFunctionTarget(config), batch: undefined },
  edge: { realtime: () => new NotImplementedTarget('edge'), batch: undefined },
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
