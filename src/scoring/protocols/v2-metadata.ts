/**
 * The read-only documents of the v2 protocol and its Triton extensions: server and model
 * metadata, the model configuration (`data_type: TYPE_FP32`…) and the statistics
 * (`model_stats`), built from the engine's view of its models.
 */
import type { TensorDatatype, TensorSpec } from '../../core/tensor.js';
import type { LoadedModel, ModelStatistics } from '../engine.js';
import { wireShape } from './signature-check.js';

export const SERVER_NAME = 'berth';
export const SERVER_VERSION = '0.1.0';
/** The protocol extensions berth implements, by the names Triton gives them. */
export const SERVER_EXTENSIONS = [
  'binary_tensor_data',
  'model_configuration',
  'model_repository',
  'statistics',
];

export function platformOf(model: LoadedModel): string {
  return model.signature === null ? 'berth_script' : 'onnxruntime_onnx';
}

export function serverMetadata(): object {
  return { name: SERVER_NAME, version: SERVER_VERSION, extensions: SERVER_EXTENSIONS };
}

function tensorMetadata(spec: TensorSpec): object {
  return { name: spec.name, datatype: spec.datatype, shape: wireShape(spec.shape) };
}

/** `versions` lists every loaded version of the name; inputs and outputs come from `model`. */
export function modelMetadata(model: LoadedModel, versions: readonly string[]): object {
  return {
    name: model.name,
    versions,
    platform: platformOf(model),
    inputs: model.signature?.inputs.map(tensorMetadata) ?? [],
    outputs: model.signature?.outputs.map(tensorMetadata) ?? [],
  };
}

const tritonType: Record<TensorDatatype, string> = {
  BOOL: 'TYPE_BOOL',
  UINT8: 'TYPE_UINT8',
  UINT16: 'TYPE_UINT16',
  UINT32: 'TYPE_UINT32',
  UINT64: 'TYPE_UINT64',
  INT8: 'TYPE_INT8',
  INT16: 'TYPE_INT16',
  INT32: 'TYPE_INT32',
  INT64: 'TYPE_INT64',
  FP16: 'TYPE_FP16',
  FP32: 'TYPE_FP32',
  FP64: 'TYPE_FP64',
  BYTES: 'TYPE_STRING',
};

/** Triton's model configuration; with max_batch_size > 0, `dims` leave out the batch dimension as Triton does. */
export function modelConfig(
  model: LoadedModel,
  dynamicBatching: { maxQueueDelayMs: number } | undefined,
): object {
  const batched = model.maxBatchSize > 0;
  const tensor = (spec: TensorSpec) => ({
    name: spec.name,
    data_type: tritonType[spec.datatype],
    dims: wireShape(batched ? spec.shape.slice(1) : spec.shape),
  });
  const config: Record<string, unknown> = {
    name: model.name,
    platform: platformOf(model),
    backend: model.signature === null ? 'berth_script' : 'onnxruntime',
    version_policy: { specific: { versions: [Number(model.version) || 0] } },
    max_batch_size: model.maxBatchSize,
    input: model.signature?.inputs.map(tensor) ?? [],
    output: model.signature?.outputs.map(tensor) ?? [],
  };
  if (dynamicBatching !== undefined && batched) {
    config.dynamic_batching = {
      max_queue_delay_microseconds: Math.round(dynamicBatching.maxQueueDelayMs * 1000),
    };
  }
  return config;
}

const zero = { count: 0, ns: 0 };

export function modelStats(stats: readonly ModelStatistics[]): object {
  return {
    model_stats: stats.map((entry) => ({
      name: entry.name,
      version: entry.version,
      last_inference: entry.lastInference,
      inference_count: entry.inferenceCount,
      execution_count: entry.executionCount,
      inference_stats: {
        success: entry.success,
        fail: entry.fail,
        queue: entry.queue,
        compute_input: zero,
        compute_infer: entry.compute,
        compute_output: zero,
        cache_hit: zero,
        cache_miss: zero,
      },
      batch_stats: [],
    })),
  };
}
