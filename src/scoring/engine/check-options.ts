/**
 * Invariants on resolved engine options. The options layer fills defaults; this catches a caller
 * that built options by hand with values the pool cannot honour, before any thread starts.
 */
import { BerthError } from '../../core/errors.js';
import type { EngineOptions } from '../engine.js';
import { modelKey } from './versions.js';

/** Below this not even an idle server with one worker fits (node, ONNX Runtime and a thread). */
export const MIN_MEMORY_LIMIT_BYTES = 64 * 1024 * 1024;

export function checkOptions(options: EngineOptions): void {
  const problems: string[] = [];
  const integerAtLeast = (value: number, min: number, what: string): void => {
    if (!Number.isInteger(value) || value < min)
      problems.push(`${what} must be an integer >= ${min}, got ${value}`);
  };
  integerAtLeast(options.workers, 1, 'workers');
  integerAtLeast(options.onnx.intraOpThreads, 0, 'onnx.intraOpThreads');
  integerAtLeast(options.onnx.interOpThreads, 0, 'onnx.interOpThreads');
  integerAtLeast(options.batching.maxBatchSize, 1, 'batching.maxBatchSize');
  integerAtLeast(options.workerMaxOldGenerationMb, 8, 'workerMaxOldGenerationMb');
  integerAtLeast(options.memoryLimitBytes, MIN_MEMORY_LIMIT_BYTES, 'memoryLimitBytes');
  integerAtLeast(options.workerStartTimeoutMs, 1, 'workerStartTimeoutMs');
  if (!(options.batching.maxQueueDelayMs >= 0))
    problems.push(`batching.maxQueueDelayMs must be >= 0, got ${options.batching.maxQueueDelayMs}`);
  if (!(options.execution.inlineMaxRunMs >= 0))
    problems.push(`execution.inlineMaxRunMs must be >= 0, got ${options.execution.inlineMaxRunMs}`);
  if (options.onnx.executionProviders.length === 0)
    problems.push('onnx.executionProviders must name at least one provider');
  const seen = new Set<string>();
  for (const model of options.models) {
    const key = modelKey(model.name, model.version);
    if (seen.has(key)) problems.push(`model "${model.name}" version ${model.version} is listed twice`);
    seen.add(key);
    if (model.framework === 'onnx' && model.modelFile === undefined)
      problems.push(`model "${model.name}" is ONNX but has no modelFile`);
  }
  if (options.models.length === 0 && options.scoringScript === undefined)
    problems.push('nothing to serve: no models and no scoring script');
  if (problems.length > 0)
    throw new BerthError('INVALID_SPEC', `invalid engine options: ${problems.join('; ')}`);
}
