/**
 * The engines a batch job can run on, by kind. `embedded` is built in; the `cluster` engine
 * registers itself from its own module (`registerBatchEngine('cluster', createClusterEngine)`), so
 * this folder never imports it, and a test can swap any engine for a fake.
 */
import { BerthError } from '../core/errors.js';
import { createEmbeddedEngine } from './embedded/engine.js';
import type { BatchEngineFactory, BatchEngineKind } from './engine.js';

const factories = new Map<BatchEngineKind, BatchEngineFactory>([['embedded', createEmbeddedEngine]]);

/** Makes `kind` available to every job in this process (a later call replaces the earlier factory). */
export function registerBatchEngine(kind: BatchEngineKind, factory: BatchEngineFactory): void {
  factories.set(kind, factory);
}

/** The factory for `kind`: from `overrides` first, then the registered ones. */
export function batchEngineFactory(
  kind: BatchEngineKind,
  overrides: Partial<Record<BatchEngineKind, BatchEngineFactory>> = {},
): BatchEngineFactory {
  const factory = overrides[kind] ?? factories.get(kind);
  if (factory === undefined) {
    throw new BerthError(
      'NOT_IMPLEMENTED',
      `no "${kind}" batch engine is registered in this process (import the module that calls registerBatchEngine('${kind}', …))`,
    );
  }
  return factory;
}
