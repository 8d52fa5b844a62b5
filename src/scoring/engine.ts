/**
 * The contract between the scoring server's front ends (HTTP, gRPC) and its execution engine
 * (worker pool, dynamic batcher, runtimes). Front ends decode requests into `TensorValue`s and
 * call the engine; the engine owns worker threads, sessions and batching, and answers with
 * tensors or a typed BerthError (codes from core/errors.ts).
 */
import type { ModelSignature, TensorDatatype } from '../core/tensor.js';

/** Tensor contents: a typed array matching the datatype (FP16 as raw Uint16 bits, BOOL as Uint8) or strings for BYTES. */
export type TensorData =
  | Float32Array
  | Float64Array
  | Int8Array
  | Int16Array
  | Int32Array
  | BigInt64Array
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | BigUint64Array
  | string[];

export interface TensorValue {
  datatype: TensorDatatype;
  shape: number[];
  data: TensorData;
}

export interface InferRequest {
  model: string;
  /** Undefined: the model's only (or newest) loaded version. */
  version: string | undefined;
  inputs: Record<string, TensorValue>;
  /** Output names to return; undefined returns all of them. */
  outputs: string[] | undefined;
  signal?: AbortSignal;
}

export interface InferResponse {
  model: string;
  version: string;
  outputs: Record<string, TensorValue>;
  /** How many requests shared the batch this one ran in (1 when not batched). */
  batchSize: number;
  /** Milliseconds spent waiting in the queue and executing. */
  queueMs: number;
  computeMs: number;
}

/** A request to a scoring script's `run`: parsed JSON, or the raw body in raw mode. */
export interface ScriptRequest {
  model: string;
  body: unknown;
  raw: { bytes: Uint8Array; headers: Record<string, string>; method: string; path: string } | undefined;
  signal?: AbortSignal;
}

export interface ScriptResponse {
  status: number;
  contentType: string;
  /** JSON-serialisable value, or bytes when the script answered with a buffer. */
  body: unknown;
  execMs: number;
}

export interface LoadedModel {
  name: string;
  version: string;
  signature: ModelSignature | null;
  /** 0 when the model has no dynamic batch dimension. */
  maxBatchSize: number;
  ready: boolean;
  /** True when a scoring script answers /score for this model. */
  scripted: boolean;
}

export interface ModelStatistics {
  name: string;
  version: string;
  inferenceCount: number;
  executionCount: number;
  success: { count: number; ns: number };
  fail: { count: number; ns: number };
  queue: { count: number; ns: number };
  compute: { count: number; ns: number };
  lastInference: number;
}

export interface InferenceEngine {
  models(): LoadedModel[];
  /** Ready once every model is loaded and warmed. */
  isReady(): boolean;
  infer(request: InferRequest): Promise<InferResponse>;
  runScript(request: ScriptRequest): Promise<ScriptResponse>;
  statistics(name?: string, version?: string): ModelStatistics[];
  /** Loads (or replaces) a model; the old version keeps serving until the new one is warmed. */
  load(model: ModelToServe): Promise<void>;
  unload(name: string): Promise<void>;
  /** Stops accepting, lets in-flight work finish, then ends the workers. */
  close(): Promise<void>;
}

/** A model as the scoring server receives it: already resolved to files on disk. */
export interface ModelToServe {
  name: string;
  version: string;
  framework: 'onnx' | 'custom';
  /** The folder holding the model's files (what a scoring script sees as ctx.modelDir). */
  modelDir: string;
  /** Absolute path of the ONNX file to load; undefined for framework `custom`. */
  modelFile: string | undefined;
  signature: ModelSignature | null;
}

export type GraphOptimizationLevel = 'disabled' | 'basic' | 'extended' | 'all';

/** Resolved engine options: every default already filled in (see scoring/options.ts). */
export interface EngineOptions {
  models: ModelToServe[];
  /** Absolute path of the entry script (TS or JS) exporting init(ctx) and run(input, ctx). */
  scoringScript: string | undefined;
  /** Number of worker threads. */
  workers: number;
  onnx: {
    intraOpThreads: number;
    interOpThreads: number;
    graphOptimizationLevel: GraphOptimizationLevel;
    /** Tried in order; 'cuda' falls back to 'cpu' with a clear message when absent. */
    executionProviders: ('cpu' | 'cuda')[];
  };
  batching: {
    enabled: boolean;
    maxBatchSize: number;
    maxQueueDelayMs: number;
  };
  /** Per-worker memory ceiling for user code, in MB (worker_threads resourceLimits). */
  workerMaxOldGenerationMb: number;
}

/** Loading a new version keeps the old one serving until the new one is ready. */
export interface ModelRepository {
  /** Every model the repository could load, with its state. */
  index(): Promise<{ name: string; version: string; state: 'READY' | 'UNAVAILABLE'; reason: string }[]>;
  /** Resolves a model name (and optional version) to files on disk. */
  resolve(name: string, version: string | undefined): Promise<ModelToServe>;
}
