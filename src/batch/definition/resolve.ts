/**
 * Batch deployment options in, resolved definition out: defaults filled (those of Azure ML batch
 * deployments), durations in milliseconds, paths absolute, the two shapes of run settings merged.
 * Everything after this step reads a `BatchDeploymentDefinition` (and, once the SDK has found the
 * target, a `ResolvedBatchDeployment`) and never an optional-with-default field.
 */
import { isAbsolute, resolve } from 'node:path';
import type { BatchEngineKind } from '../engine.js';
import type { ComputeRef } from './compute.js';
import type { BatchDeploymentFile, RunSettings } from './schema.js';

export type LoggingLevel = 'debug' | 'info' | 'warning' | 'error';

export type ModelSource =
  { kind: 'registered'; reference: string } | { kind: 'inline'; path: string; name: string | undefined };

/**
 * Where a job runs, found in the workspace's target registry when it was submitted. Kept in the
 * job's record, so a resumed job runs where it started (the same queue) even if the named target
 * changed or went away since.
 */
export interface BatchCompute {
  /** The target as the user named it (`local`, `batch-cluster`, `redis://host:6379/0`), for status and messages. */
  target: string;
  /** The engine that runs its mini-batches. */
  engine: BatchEngineKind;
  /** The target's config: its kind, name and settings (a cluster's Redis address and queue prefix). */
  config: { kind: string; name?: string } & Record<string, unknown>;
}

/** A batch deployment as the file (or object) defines it; `compute` is still a reference. */
export interface BatchDeploymentDefinition {
  name: string;
  endpointName: string | undefined;
  model: ModelSource | undefined;
  /** Absolute path of the scoring script; undefined → berth scores the ONNX model itself. */
  scoringScript: string | undefined;
  compute: ComputeRef;
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

/** What a job runs and keeps in its record: the definition with its target found. */
export interface ResolvedBatchDeployment extends Omit<BatchDeploymentDefinition, 'compute'> {
  compute: BatchCompute;
}

/**
 * `baseDir`: the folder the deployment file sits in; relative paths in it resolve from there (as
 * in Azure ML). `settings`: the run settings of both shapes, merged (settings.ts).
 */
export function resolveBatchDeployment(
  file: BatchDeploymentFile,
  settings: RunSettings,
  compute: ComputeRef,
  baseDir: string,
): BatchDeploymentDefinition {
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
    compute,
    instanceCount: file.resources?.instance_count ?? 1,
    maxConcurrencyPerInstance: settings.max_concurrency_per_instance ?? 1,
    miniBatchSize: settings.mini_batch_size,
    outputAction: settings.output_action ?? 'append_row',
    outputFileName: settings.output_file_name ?? 'predictions.csv',
    maxRetries: settings.retry_settings?.max_retries ?? 3,
    timeoutMs: Math.round((settings.retry_settings?.timeout ?? 30) * 1000),
    errorThreshold: settings.error_threshold ?? -1,
    allowedFailedCount: file.allowed_failed_count ?? -1,
    allowedFailedPercent: file.allowed_failed_percent ?? 100,
    loggingLevel: settings.logging_level ?? 'info',
    environmentVariables: Object.fromEntries(
      Object.entries(settings.environment_variables ?? {}).map(([key, value]) => [key, String(value)]),
    ),
  };
}
