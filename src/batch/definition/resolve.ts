/**
 * Batch deployment options in, resolved definition out: defaults filled (those of Azure ML batch
 * deployments), durations in milliseconds, paths absolute. Everything after this step reads a
 * `ResolvedBatchDeployment` and never an optional-with-default field.
 */
import { isAbsolute, resolve } from 'node:path';
import { BerthError } from '../../core/errors.js';
import type { BatchEngineKind } from '../engine.js';
import type { BatchDeploymentFile } from './schema.js';

export type LoggingLevel = 'debug' | 'info' | 'warning' | 'error';

export type ModelSource =
  { kind: 'registered'; reference: string } | { kind: 'inline'; path: string; name: string | undefined };

export interface ResolvedBatchDeployment {
  name: string;
  endpointName: string | undefined;
  model: ModelSource | undefined;
  /** Absolute path of the scoring script; undefined → berth scores the ONNX model itself. */
  scoringScript: string | undefined;
  compute: { kind: BatchEngineKind; target: string };
  /** Default 1. */
  instanceCount: number;
  /** Default 1. */
  maxConcurrencyPerInstance: number;
  /** As written; read per input kind when planning (files: a count, default 10; tabular: bytes, default 1MB). */
  miniBatchSize: number | string | undefined;
  /** Default `append_row`. */
  outputAction: 'append_row' | 'summary_only';
  /** Default `predictions.csv`. */
  outputFileName: string;
  /** Retries after the first attempt; default 3 (so at most 4 attempts). */
  maxRetries: number;
  /** Per attempt; default 30 s. */
  timeoutMs: number;
  /** Failed items tolerated; -1 (the default) tolerates any number. */
  errorThreshold: number;
  /** Failed mini-batches tolerated; -1 (the default) tolerates any number. */
  allowedFailedCount: number;
  /** Failed mini-batches tolerated, as a share of all; default 100. */
  allowedFailedPercent: number;
  /** Default `info`. */
  loggingLevel: LoggingLevel;
  environmentVariables: Record<string, string>;
}

export function parseCompute(text: string | undefined): { kind: BatchEngineKind; target: string } {
  if (text === undefined || text === 'embedded' || text === 'local') return { kind: 'embedded', target: '' };
  if (text.startsWith('cluster:')) {
    const target = text.slice('cluster:'.length);
    if (!/^rediss?:\/\/./.test(target)) {
      throw new BerthError('INVALID_SPEC', `compute: ${JSON.stringify(text)}: use cluster:redis://host:port`);
    }
    return { kind: 'cluster', target };
  }
  throw new BerthError(
    'INVALID_SPEC',
    `compute: ${JSON.stringify(text)} is not a batch target; use "embedded" or "cluster:redis://host:port"`,
  );
}

/** `baseDir`: the folder the deployment file sits in; relative paths in it resolve from there (as in Azure ML). */
export function resolveBatchDeployment(file: BatchDeploymentFile, baseDir: string): ResolvedBatchDeployment {
  const at = (path: string): string => (isAbsolute(path) ? path : resolve(baseDir, path));
  const code = file.code_configuration;
  const model: ModelSource | undefined =
    file.model === undefined
      ? undefined
      : typeof file.model === 'string'
        ? { kind: 'registered', reference: file.model }
        : { kind: 'inline', path: at(file.model.path), name: file.model.name };
  return {
    name: file.name,
    endpointName: file.endpoint_name,
    model,
    scoringScript: code === undefined ? undefined : at(resolve(at(code.code ?? '.'), code.scoring_script)),
    compute: parseCompute(file.compute ?? file.target),
    instanceCount: file.resources?.instance_count ?? 1,
    maxConcurrencyPerInstance: file.max_concurrency_per_instance ?? 1,
    miniBatchSize: file.mini_batch_size,
    outputAction: file.output_action ?? 'append_row',
    outputFileName: file.output_file_name ?? 'predictions.csv',
    maxRetries: file.retry_settings?.max_retries ?? 3,
    timeoutMs: Math.round((file.retry_settings?.timeout ?? 30) * 1000),
    errorThreshold: file.error_threshold ?? -1,
    allowedFailedCount: file.allowed_failed_count ?? -1,
    allowedFailedPercent: file.allowed_failed_percent ?? 100,
    loggingLevel: file.logging_level ?? 'info',
    environmentVariables: Object.fromEntries(
      Object.entries(file.environment_variables ?? {}).map(([key, value]) => [key, String(value)]),
    ),
  };
}
