/**
 * Everything that crosses between the engine (main thread) and its worker threads: a typed union
 * keyed by `type`, each request carrying a `requestId` that its reply echoes. Errors cross as
 * `SerializedError` and are rebuilt by code on the other side; tensor buffers are transferred.
 */
import type { SerializedError } from '../../core/errors.js';
import type { ModelSignature } from '../../core/tensor.js';
import type {
  EncodedInferRequest,
  EncodedRequestInfo,
  EngineOptions,
  ModelToServe,
  ScriptRequest,
  ScriptSchemas,
  TensorValue,
} from '../engine.js';

/** Given to each worker as `workerData`. */
export interface WorkerStartup {
  workerId: number;
  onnx: EngineOptions['onnx'];
  models: ModelToServe[];
  script: { sourcePath: string; modulePath: string } | undefined;
}

/** What a worker learnt while loading one model. */
export interface LoadReport {
  name: string;
  version: string;
  /** Read from the ONNX session; null for framework `custom`. */
  signature: ModelSignature | null;
  /** Set when 'cuda' was asked for and the session runs on CPU instead: why. */
  cudaFallback: string | undefined;
  /** Set when warm-up failed (the model still serves): why. */
  warmUpError: string | undefined;
  /** The fastest warm-up run (ms, batch of one); undefined for `custom` or when warm-up failed. */
  runMs: number | undefined;
}

export type ToWorker =
  | {
      type: 'infer';
      requestId: number;
      model: string;
      version: string;
      inputs: Record<string, TensorValue>;
      outputs: string[] | undefined;
    }
  | {
      /** A raw body the worker decodes and checks itself before running (see decode-body.ts). */
      type: 'infer-encoded';
      requestId: number;
      model: string;
      version: string;
      format: EncodedInferRequest['format'];
      body: Uint8Array;
      signature: ModelSignature;
      hasBatchDimension: boolean;
    }
  | { type: 'script'; requestId: number; model: string; body: unknown; raw: ScriptRequest['raw'] }
  | { type: 'load'; requestId: number; model: ModelToServe }
  | { type: 'unload'; requestId: number; name: string; version: string }
  | { type: 'shutdown'; requestId: number }
  /** Answered at once: a worker that cannot answer is busy in one task (see pool.ts, overdue). */
  | { type: 'ping'; requestId: number };

/**
 * Asked of every worker while the process is over its memory limit (see memory-watch.ts); it has
 * no requestId and is answered by a `memory` message, not counted as a call.
 */
export interface ReportMemory {
  type: 'report-memory';
}

/** A worker's own memory, as `process.memoryUsage()` reads it inside the thread (per isolate). */
export interface WorkerMemory {
  heapUsed: number;
  /** C++ memory bound to JS objects, ArrayBuffers and Buffers included. */
  external: number;
}

export type FromWorker =
  | { type: 'ready'; models: LoadReport[]; script: ScriptSchemas | undefined; memory: WorkerMemory }
  /** The answer to `report-memory`, sent as soon as the thread's event loop turns. */
  | { type: 'memory'; memory: WorkerMemory }
  | { type: 'startup-failed'; error: SerializedError }
  | { type: 'inferred'; requestId: number; outputs: Record<string, TensorValue>; computeNs: number }
  | {
      type: 'inferred-encoded';
      requestId: number;
      /** `refused`: the body was bad input, answered before any run (no statistics count it). */
      outcome:
        | {
            kind: 'ran';
            outputs: Record<string, TensorValue>;
            computeNs: number;
            rows: number;
            request: EncodedRequestInfo | undefined;
          }
        | { kind: 'refused'; error: SerializedError };
    }
  | {
      type: 'scripted';
      requestId: number;
      status: number;
      contentType: string;
      body: unknown;
      execNs: number;
    }
  | { type: 'loaded'; requestId: number; report: LoadReport }
  | { type: 'done'; requestId: number }
  | { type: 'pong'; requestId: number }
  | { type: 'failed'; requestId: number; error: SerializedError };

/** Which reply answers which request; a reply of another type is a protocol bug. */
export interface ReplyTypes {
  infer: 'inferred';
  'infer-encoded': 'inferred-encoded';
  script: 'scripted';
  load: 'loaded';
  unload: 'done';
  shutdown: 'done';
  ping: 'pong';
}

export type RequestOf<K extends ToWorker['type']> = Extract<ToWorker, { type: K }>;
export type ReplyOf<K extends ToWorker['type']> = Extract<FromWorker, { type: ReplyTypes[K] }>;
/** A request as the caller writes it; the pool assigns `requestId`. */
export type CallOf<K extends ToWorker['type']> = Omit<RequestOf<K>, 'requestId'>;
