/**
 * The target registry: kind → factory. The mapped type makes a kind without a factory (or a
 * factory fed the wrong config) a compile error, so adding a kind to `targetKinds` forces a row
 * here. Every kind but `local` and `container` is a NotImplementedTarget until its adapter lands
 * (`cluster` runs batch jobs through src/batch/cluster, so its stand-in refuses real-time deploys).
 */
import type { TargetConfig } from './config.js';
import { createContainerTarget } from './container/index.js';
import { createLocalTarget } from './local/index.js';
import { NotImplementedTarget } from './not-implemented.js';
import type { ComputeTarget, TargetKind } from './target.js';

export type TargetConfigOf<K extends TargetKind> = Extract<TargetConfig, { kind: K }>;
export type TargetFactory<K extends TargetKind> = (config: TargetConfigOf<K>) => ComputeTarget;

export const targetFactories: { readonly [K in TargetKind]: TargetFactory<K> } = {
  local: (config) => createLocalTarget(config),
  ssh: () => new NotImplementedTarget('ssh'),
  container: (config) => createContainerTarget(config),
  kubernetes: () => new NotImplementedTarget('kubernetes'),
  cluster: () => new NotImplementedTarget('cluster'),
  function: () => new NotImplementedTarget('function'),
  edge: () => new NotImplementedTarget('edge'),
};

/** Builds the adapter for a config; the adapter owns what it opens until close(). */
export function createTarget(config: TargetConfig): ComputeTarget {
  const factory = targetFactories[config.kind] as TargetFactory<TargetKind>;
  return factory(config);
}
