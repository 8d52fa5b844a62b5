/**
 * The contract between the scoring server's front ends (HTTP, gRPC) and its execution engine
 * (worker pool, dynamic batcher, runtimes). Front ends decode requests into `TensorValue`s and
 * call the engine; the engine owns worker threads, sessions and batching, and answers with
 * tensors or a typed BerthError (codes from core/errors.ts).
 */
import type { Framework } from '../core/model.js';
import type { ModelSignature, TensorDatatype } from '../core/tensor.js';
import type { CancelSignal } from './cancel.js';

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
  /**
   * The engine takes ownership of these tensors: a typed array spanning its whole ArrayBuffer is
   * transferred to a worker thread (detached here) instead of copied. Pass copies to keep using them.
   */
  inputs: Record<string, TensorValue>;
  /** Output names to return; undefined returns all of them. */
  outputs: string[] | undefined;
  signal?: CancelSignal;
  /** The request's id (x-request-id): named in the log when its deadline ends a stuck worker. */
  id?: string;
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

/**
 * An inference request still in its wire form: the raw JSON body, parsed, decoded and checked
 * against the signature on a worker thread, so decoding a large body does not hold the main
 * thread. Bad input is answered with the same errors the main-thread path gives.
 */
export interface EncodedInferRequest {
  model: string;
  version: string;
  /** 'v2-json': an Open Inference Protocol v2 JSON body; 'azure-json': a `/score` body. */
  format: 'v2-json' | 'azure-json';
  /** The whole body; spanning its whole ArrayBuffer, it is transferred (detached here), else copied. */
  body: Uint8Array;
  signal?: CancelSignal;
  /** As InferRequest.id. */
  id?: string;
}

/** What a v2 response needs to know of the request that the worker decoded. */
export interface EncodedRequestInfo {
  id: string | undefined;
  outputs: { name: string; binary: boolean | undefined }[] | undefined;
  binaryOutput: boolean;
}

export interface EncodedInferResponse extends InferResponse {
  /** Set for 'v2-json'; undefined for 'azure-json'. */
  request: EncodedRequestInfo | undefined;
}

/** A request to a scoring script's `run`: parsed JSON, or the raw body in raw mode. */
export interface ScriptRequest {
  model: string;
  body: unknown;
  /** In raw mode; like tensor inputs, `bytes` spanning its whole ArrayBuffer is transferred (detached here). */
  raw: { bytes: Uint8Array; headers: Record<string, string>; method: string; path: string } | undefined;
  signal?: CancelSignal;
  /** As InferRequest.id. */
  id?: string;
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
  models(): readonly LoadedModel[];
  /** Ready once every model is loaded and warmed. */
  isReady(): boolean;
  /**
   * Settles as soon as `request.signal` aborts (rejecting with its reason), whether the request is
   * queued or running: the front ends rely on it and do not race the answer against the signal.
   */
  infer(request: InferRequest): Promise<InferResponse>;
  runScript(request: ScriptRequest): Promise<ScriptResponse>;
  statistics(name?: string, version?: string): ModelStatistics[];
  /** Loads (or replaces) a model; the old version keeps serving until the new one is warmed. */
  load(model: ModelToServe): Promise<void>;
  /** Unloads every version of `name`, or only `version` when given. */
  unload(name: string, version?: string): Promise<void>;
  /** Stops accepting, lets in-flight work finish, then ends the workers. */
  close(): Promise<void>;
  /*
   * The members below are optional only so that test doubles need not write them; the engine from
   * `createEngine` (scoring/engine/create-engine.ts) always has them.
   */
  /** What the scoring script publishes (JSON Schemas, raw mode); undefined without a script. */
  scriptSchemas?(): ScriptSchemas | undefined;
  /** Pool-wide numbers: workers, restarts, queue depth. */
  engineStatistics?(): EngineStatistics;
  /**
   * True when a body of `byteLength` bytes for this model is better decoded on a worker thread
   * (`inferEncoded`): the model runs on workers, does not batch, and the body is large.
   */
  acceptsEncoded?(model: string, version: string, byteLength: number): boolean;
  /** Decodes, checks and runs a request on a worker thread; see EncodedInferRequest. */
  inferEncoded?(request: EncodedInferRequest): Promise<EncodedInferResponse>;
  /** Calls `listener` after every run (e.g. to feed a batch-size histogram); returns the unsubscribe function. */
  onBatch?(listener: (event: BatchEvent) => void): () => void;
  /** Whether the engine can still score, and what has happened to its workers and memory. */
  health?(): EngineHealth;
  /**
   * Calls `listener` once when the engine can no longer recover by itself (memory over the limit
   * with no worker to blame, for a while): the process should be replaced. Returns the unsubscribe.
   */
  onFatal?(listener: (failure: EngineFailure) => void): () => void;
}

/** Why a worker was replaced, or (`start`) why none could start. */
export type EngineFailureCause = 'timeout' | 'crash' | 'memory' | 'exit' | 'start';

export interface EngineFailure {
  cause: EngineFailureCause;
  message: string;
  /** ISO 8601. */
  at: string;
}

/** What /berth/status reports (with `ready`, which the front end adds). */
export interface EngineHealth {
  /** False when the engine can no longer score: no worker can start, or memory is over the limit and no worker holds it. */
  live: boolean;
  /** Why live is false; undefined while live. */
  reason: string | undefined;
  workers: { configured: number; alive: number };
  replaced: { timeout: number; crash: number; memory: number; exit: number };
  lastFailure: EngineFailure | null;
  memory: { limitBytes: number; rssBytes: number };
}

export interface ScriptSchemas {
  /** True when the script exports `rawRequest = true`: `run` gets the raw body and headers. */
  rawRequest: boolean;
  /** JSON Schema of the request body, from the script's `inputSchema`. */
  input: Record<string, unknown> | undefined;
  /** JSON Schema of the response body, from the script's `outputSchema`. */
  output: Record<string, unknown> | undefined;
}

export interface EngineStatistics {
  /** Worker threads the pool keeps (options.workers). */
  workers: number;
  /** Of those, how many are started and serving now. */
  readyWorkers: number;
  /** Workers replaced after dying (uncaught error, process.exit, out of memory). */
  workerRestarts: number;
  /** Inference requests waiting in the batcher. */
  queueDepth: number;
  /** Runs and script calls sent to workers and not yet answered. */
  inFlight: number;
  /** Requests whose body a worker thread decoded (inferEncoded) since the engine started. */
  encodedRequests: number;
}

/** One run of a model on a worker. */
export interface BatchEvent {
  model: string;
  version: string;
  /** Requests that shared the run. */
  requests: number;
  /** Items (rows along dimension 0) in the run; what a batch-size histogram records. */
  rows: number;
  computeMs: number;
}

/** A model as the scoring server receives it: already resolved to files on disk. */
export interface ModelToServe {
  name: string;
  version: string;
  framework: Framework;
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
  /**
   * Absolute path of the entry script: TS or JS exporting init(ctx) and run(input, ctx), or a
   * Python `.py` file with init() and run(raw_data) (runtimes/python).
   */
  scoringScript: string | undefined;
  /** The Python interpreter for a `.py` script; undefined: $BERTH_PYTHON, else found (runtimes/python/interpreter.ts). */
  python?: string | undefined;
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
  /**
   * The whole process's memory ceiling (RSS: heaps, Buffers, native memory), bytes. Sampled on a
   * timer: the worker holding the excess is ended and replaced; excess no worker holds makes the
   * engine not live (see engine/memory-watch.ts).
   */
  memoryLimitBytes: number;
  /** From a worker thread's creation to ready (models loaded, init() done), ms; past it the start failed. */
  workerStartTimeoutMs: number;
  /** Where tensor inference runs; see scoring/engine/placement.ts for the rule. */
  execution: {
    /**
     * 'auto': an ONNX model runs on the main thread when no scoring script is deployed and its
     * warm-up run took at most `inlineMaxRunMs`; 'always': every ONNX model's tensor inference
     * runs on the main thread; 'never': always on worker threads.
     */
    inline: InlineMode;
    inlineMaxRunMs: number;
  };
}

export type InlineMode = 'auto' | 'always' | 'never';

/** Loading a new version keeps the old one serving until the new one is ready. */
export interface ModelRepository {
  /** Every model the repository could load, with its state. */
  index(): Promise<{ name: string; version: string; state: 'READY' | 'UNAVAILABLE'; reason: string }[]>;
  /** Resolves a model name (and optional version) to files on disk. */
  resolve(name: string, version: string | undefined): Promise<ModelToServe>;
}

/**
 * Admission control shared by every front end: at most `maxConcurrent` requests run, at most
 * `maxQueued` wait; past that a request is refused at once (never unbounded memory growth).
 * Implemented in scoring/admission.ts.
 */
export interface Admission {
  /** Resolves with a release function once a slot is free; rejects at once with TOO_MANY_REQUESTS when the queue is full, or with the signal's reason when aborted while queued. */
  acquire(signal?: CancelSignal): Promise<() => void>;
  /** A slot now, or undefined when every slot is taken (then `acquire` queues): no promise to wait on. */
  tryAcquire(): (() => void) | undefined;
  readonly inFlight: number;
  readonly queued: number;
  /** Requests that asked for a slot since the start, refused ones included: demand, for autoscaling. */
  readonly arrived?: number;
}
