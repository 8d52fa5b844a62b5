/**
 * The read-only RPCs about models: metadata, configuration and statistics. They build the same
 * documents as the HTTP routes (`protocols/v2-metadata.ts`), whose field names are the protobuf
 * field names, so the two protocols cannot drift apart.
 */
import { BerthError } from '../../core/errors.js';
import type { InferenceEngine } from '../engine.js';
import { modelConfig, modelMetadata, modelStats } from '../protocols/v2-metadata.js';
import type { ModelRequest } from './messages.js';
import { requireModel, versionsOf } from './models.js';

export interface DocumentContext {
  engine: InferenceEngine;
  /** Dynamic batching as the engine runs it, reported in the configuration; undefined when off. */
  batching: { maxQueueDelayMs: number } | undefined;
}

export function metadataOf(context: DocumentContext, request: ModelRequest): object {
  const models = context.engine.models();
  const model = requireModel(models, request.name, request.version);
  const versions = versionsOf(models, model.name).map((loaded) => loaded.version);
  return modelMetadata(model, versions);
}

export function configOf(context: DocumentContext, request: ModelRequest): object {
  if (request.name === '') {
    throw new BerthError('BAD_INPUT', 'ModelConfig needs the name of a model: "name" is empty');
  }
  const model = requireModel(context.engine.models(), request.name, request.version);
  return { config: modelConfig(model, context.batching) };
}

/** With no name, every loaded model; with a name, that model (and version when one is given). */
export function statisticsOf(context: DocumentContext, request: ModelRequest): object {
  const { engine } = context;
  if (request.name === '') {
    if (request.version !== '') {
      throw new BerthError(
        'BAD_INPUT',
        `ModelStatistics got version "${request.version}" but no model name: name the model too`,
      );
    }
    return modelStats(engine.statistics());
  }
  const model = requireModel(engine.models(), request.name, request.version);
  return modelStats(engine.statistics(model.name, request.version === '' ? undefined : request.version));
}
