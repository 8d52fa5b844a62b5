/**
 * The scoring server's options: what a user (or the CLI, or a target adapter) writes, validated
 * once with zod, and resolved into `ResolvedScoringOptions` with every default filled in. The
 * resolved object carries the `EngineOptions` for createEngine, so nothing deeper in the server
 * has an optional-with-default field. Errors name the field.
 */
import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { BerthError } from '../core/errors.js';
import { frameworks } from '../core/model.js';
import { MAX_STOP_DELAY_MS } from '../core/stop-delay.js';
import { tensorDatatypes } from '../core/tensor.js';
import type { EngineOptions, ModelToServe } from './engine.js';
import { MIN_MEMORY_LIMIT_BYTES } from './engine/check-options.js';
import { defaultMemoryLimit, memoryLimitFromEnv } from './memory-limit.js';
import { zodMessage } from './protocols/v2-json.js';

export const logLevels = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export type LogLevel = (typeof logLevels)[number];

const MB = 1024 * 1024;

const tensorSpecSchema = z.strictObject({
  name: z.string(),
  datatype: z.enum(tensorDatatypes),
  shape: z.array(z.union([z.number().int().nonnegative(), z.string()])),
});

const modelSchema = z.strictObject({
  name: z.string().min(1),
  version: z.union([z.string().min(1), z.number().int().positive().transform(String)]),
  framework: z.enum(frameworks),
  modelDir: z.string().min(1),
  modelFile: z.string().min(1).optional(),
  signature: z
    .strictObject({
      inputs: z.array(tensorSpecSchema),
      outputs: z.array(tensorSpecSchema),
      opset: z.number().int().optional(),
      producer: z.string().optional(),
    })
    .nullable()
    .default(null),
});

const port = z.number().int().min(0).max(65535);

export const scoringOptionsSchema = z.strictObject({
  /** HTTP port; 0 picks a free one. Default 5001 (the Azure ML inference server's). */
  port: port.default(5001),
  /** Interface to listen on. Default 127.0.0.1 (a container or target sets 0.0.0.0). */
  host: z.string().min(1).default('127.0.0.1'),
  /** gRPC (v2) port; absent: no gRPC front end. */
  grpcPort: port.optional(),
  /** API keys: both valid at once, so one can be rotated while the other serves. Absent or null: auth off. */
  auth: z
    .strictObject({ primaryKey: z.string().min(8), secondaryKey: z.string().min(8).optional() })
    .nullable()
    .optional(),
  /** Requests running at once. Default: 2 × workers × (maxBatchSize when batching, else 1). */
  maxConcurrentRequests: z.number().int().positive().optional(),
  /** Requests waiting for a slot; past this a request gets 429 at once. Default: 4 × maxConcurrentRequests. */
  maxQueueSize: z.number().int().nonnegative().optional(),
  /** From arrival to answer, in ms. Default 5000. */
  requestTimeoutMs: z.number().int().positive().default(5000),
  /** Largest request body. Default 100 MB. */
  maxBodyBytes: z
    .number()
    .int()
    .positive()
    .default(100 * MB),
  /** Largest request header block (431 past it). Default 16384, node's own. */
  maxHeaderBytes: z.number().int().min(1024).default(16384),
  /** From a connection's first byte to the end of its headers, ms; past it the client gets 408. Default 60000, node's own. */
  headersTimeoutMs: z.number().int().positive().max(300_000).default(60_000),
  batching: z
    .strictObject({
      /** Default false. */
      enabled: z.boolean().default(false),
      /** Default 8. */
      maxBatchSize: z.number().int().positive().default(8),
      /** Default 2 ms. */
      maxQueueDelayMs: z.number().nonnegative().default(2),
    })
    .prefault({}),
  onnx: z
    .strictObject({
      /** Threads per session for one operator. Default 1 (parallelism comes from workers). */
      intraOpThreads: z.number().int().positive().default(1),
      /** Default 1. */
      interOpThreads: z.number().int().positive().default(1),
      /** Default 'all'. */
      graphOptimizationLevel: z.enum(['disabled', 'basic', 'extended', 'all']).default('all'),
      /** Default ['cpu']. */
      executionProviders: z
        .array(z.enum(['cpu', 'cuda']))
        .min(1)
        .default(['cpu']),
    })
    .prefault({}),
  execution: z
    .strictObject({
      /**
       * Where tensor inference runs. 'auto' (default): on the main thread for ONNX models whose
       * warm-up run takes at most inlineMaxRunMs when no scoring script is deployed, on worker
       * threads otherwise; 'always': every ONNX model on the main thread; 'never': worker threads.
       */
      inline: z.enum(['auto', 'always', 'never']).default('auto'),
      /** The 'auto' threshold, ms per single-item run. Default 0.1 (about the cost of one worker round trip). */
      inlineMaxRunMs: z.number().nonnegative().default(0.1),
    })
    .prefault({}),
  /** Worker threads. Default: max(1, floor(cores / intraOpThreads)). */
  workers: z.number().int().positive().optional(),
  /** Per-worker memory ceiling for user code, MB. Default 2048. */
  workerMaxOldGenerationMb: z.number().int().positive().default(2048),
  /**
   * The whole process's memory ceiling in bytes (RSS: heaps, Buffers, native memory), enforced
   * inside the server: the worker holding the excess is ended and replaced, its requests answered
   * MEMORY_LIMIT. Default: the BERTH_MEMORY_LIMIT_BYTES variable, else 90% of a container's memory
   * limit, else half of this machine's memory (see memory-limit.ts). At least 64 MiB.
   */
  memoryLimitBytes: z.number().int().min(MIN_MEMORY_LIMIT_BYTES).optional(),
  /** From a worker thread's creation to ready (models loaded, init() done), ms. Default 120000. */
  workerStartTimeoutMs: z.number().int().positive().default(120_000),
  /** The models to serve, already resolved to files. */
  models: z.array(modelSchema).default([]),
  /** Absolute path of the scoring script; absent: ONNX models are served from their signature. */
  scoringScript: z.string().min(1).optional(),
  /** The Python interpreter for a `.py` scoring script. Default: $BERTH_PYTHON, else /usr/bin/python3 when it imports numpy, else python3. */
  python: z.string().min(1).optional(),
  /** Opt-in capture of inputs and outputs to rotating JSONL files. */
  dataCollection: z
    .strictObject({
      dir: z.string().min(1),
      /** Share of requests captured, 0..1. Default 1. */
      samplingRate: z.number().min(0).max(1).default(1),
      /** A file is rotated past this size. Default 64 MB. */
      maxFileBytes: z
        .number()
        .int()
        .positive()
        .default(64 * MB),
      /** Oldest files are deleted past this count. Default 10. */
      maxFiles: z.number().int().positive().default(10),
      /** Bytes waiting to be written before new records are dropped. Default 16 MB. */
      maxPendingBytes: z
        .number()
        .int()
        .positive()
        .default(16 * MB),
    })
    .optional(),
  /** Default: 'info', or 'warn' when stdout is a terminal (request lines are info). */
  logLevel: z.enum(logLevels).optional(),
  /** Stop gracefully on SIGTERM/SIGINT. Default false (main.ts turns it on). */
  handleSignals: z.boolean().default(false),
  /**
   * When the server can no longer recover by itself (memory over the limit that no worker holds),
   * print a failure line and exit with code 1 so a supervisor starts a fresh process. Default false
   * (main.ts and `berth serve` turn it on); liveness answers 503 either way.
   */
  exitOnFatal: z.boolean().default(false),
  /** How long a graceful stop waits for in-flight requests, ms. Default requestTimeoutMs + 1000. */
  drainTimeoutMs: z.number().int().positive().optional(),
  /**
   * On SIGTERM/SIGINT, keep serving this long (ms) with readiness answering 503 before the graceful
   * stop begins, so callers that found this replica through a list that lags its deletion (a
   * Kubernetes Service, a gateway's pod watch) stop sending to it first. Default 0.
   */
  stopDelayMs: z.number().int().min(0).max(MAX_STOP_DELAY_MS).default(0),
});

export type ScoringOptions = z.input<typeof scoringOptionsSchema>;

export interface ResolvedScoringOptions {
  port: number;
  host: string;
  grpcPort: number | undefined;
  auth: { primaryKey: string; secondaryKey: string | undefined } | undefined;
  maxConcurrentRequests: number;
  maxQueueSize: number;
  requestTimeoutMs: number;
  maxBodyBytes: number;
  maxHeaderBytes: number;
  headersTimeoutMs: number;
  dataCollection:
    | { dir: string; samplingRate: number; maxFileBytes: number; maxFiles: number; maxPendingBytes: number }
    | undefined;
  logLevel: LogLevel;
  handleSignals: boolean;
  exitOnFatal: boolean;
  drainTimeoutMs: number;
  stopDelayMs: number;
  engine: EngineOptions;
}

const engineKeys = [
  'models',
  'scoringScript',
  'python',
  'workers',
  'onnx',
  'batching',
  'workerMaxOldGenerationMb',
  'memoryLimitBytes',
  'workerStartTimeoutMs',
  'execution',
] as const;

/**
 * A resolved object fed back in (main.ts reads one from a file) carries its engine fields under
 * `engine`; they are lifted to the top level so the same schema checks them.
 */
function liftEngine(input: unknown): unknown {
  if (typeof input !== 'object' || input === null || !('engine' in input)) return input;
  const { engine, ...rest } = input as Record<string, unknown>;
  if (typeof engine !== 'object' || engine === null) return input;
  for (const key of engineKeys) {
    if (key in rest && key in engine)
      throw new BerthError(
        'INVALID_SPEC',
        `scoring options: ${key} is given both at the top level and under engine`,
      );
  }
  return { ...rest, ...engine };
}

export function resolveScoringOptions(
  input: unknown,
  stdoutIsTty = process.stdout.isTTY === true,
  env: NodeJS.ProcessEnv = process.env,
): ResolvedScoringOptions {
  const parsed = scoringOptionsSchema.safeParse(liftEngine(input ?? {}));
  if (!parsed.success) throw new BerthError('INVALID_SPEC', zodMessage(parsed.error, 'scoring options: '));
  const options = parsed.data;
  const workers =
    options.workers ?? Math.max(1, Math.floor(availableParallelism() / options.onnx.intraOpThreads));
  const perWorker = options.batching.enabled ? options.batching.maxBatchSize : 1;
  const maxConcurrentRequests = options.maxConcurrentRequests ?? 2 * workers * perWorker;
  const models: ModelToServe[] = options.models.map((model) => ({
    name: model.name,
    version: model.version,
    framework: model.framework,
    modelDir: model.modelDir,
    modelFile: model.modelFile,
    signature:
      model.signature === null ? null : { opset: undefined, producer: undefined, ...model.signature },
  }));
  return {
    port: options.port,
    host: options.host,
    grpcPort: options.grpcPort,
    auth: options.auth
      ? { primaryKey: options.auth.primaryKey, secondaryKey: options.auth.secondaryKey }
      : undefined,
    maxConcurrentRequests,
    maxQueueSize: options.maxQueueSize ?? 4 * maxConcurrentRequests,
    requestTimeoutMs: options.requestTimeoutMs,
    maxBodyBytes: options.maxBodyBytes,
    maxHeaderBytes: options.maxHeaderBytes,
    headersTimeoutMs: options.headersTimeoutMs,
    dataCollection: options.dataCollection,
    logLevel: options.logLevel ?? (stdoutIsTty ? 'warn' : 'info'),
    handleSignals: options.handleSignals,
    exitOnFatal: options.exitOnFatal,
    drainTimeoutMs: options.drainTimeoutMs ?? options.requestTimeoutMs + 1000,
    stopDelayMs: options.stopDelayMs,
    engine: {
      models,
      scoringScript: options.scoringScript,
      python: options.python,
      workers,
      onnx: options.onnx,
      batching: options.batching,
      workerMaxOldGenerationMb: options.workerMaxOldGenerationMb,
      memoryLimitBytes: resolveMemoryLimit(options.memoryLimitBytes, env),
      workerStartTimeoutMs: options.workerStartTimeoutMs,
      execution: options.execution,
    },
  };
}

function resolveMemoryLimit(given: number | undefined, env: NodeJS.ProcessEnv): number {
  const bytes = given ?? memoryLimitFromEnv(env) ?? defaultMemoryLimit().bytes;
  if (bytes < MIN_MEMORY_LIMIT_BYTES) {
    throw new BerthError(
      'INVALID_SPEC',
      `scoring options: the memory limit must be at least ${MIN_MEMORY_LIMIT_BYTES} bytes (64 MiB), got ${bytes}`,
    );
  }
  return bytes;
}
