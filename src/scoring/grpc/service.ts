/**
 * The inference service's RPCs, written against the engine contract: the six core ones, streaming
 * inference, model configuration, statistics and the model repository. Liveness and readiness
 * answer without a key (orchestrator probes carry none); every other call needs one when keys are
 * configured. A request whose bytes did not decode (a MalformedMessage) is refused with
 * INVALID_ARGUMENT once the key has been checked.
 */
import type {
  handleBidiStreamingCall,
  handleUnaryCall,
  Metadata,
  ServerUnaryCall,
  UntypedServiceImplementation,
} from '@grpc/grpc-js';
import type { ModelRepository } from '../engine.js';
import { SERVER_EXTENSIONS } from '../protocols/v2-metadata.js';
import type { KeyCheck } from './auth.js';
import { createCallSignal } from './deadline.js';
import { configOf, metadataOf, statisticsOf } from './documents.js';
import { countFailure, runInference, type InferenceContext } from './infer.js';
import { MalformedMessage } from './malformed.js';
import type {
  ModelInferRequest,
  ModelInferResponse,
  ModelRequest,
  ModelStreamInferResponse,
  RepositoryIndexRequest,
  RepositoryModelRequest,
} from './messages.js';
import { findModel } from './models.js';
import { repositoryIndex, repositoryLoad, repositoryUnload } from './repository.js';
import { serveInferStream } from './stream.js';
import { toServiceError } from './status.js';

export interface ServiceContext extends InferenceContext {
  checkKey: KeyCheck;
  serverVersion: string;
  repository: ModelRepository | undefined;
  /** Dynamic batching as the engine runs it, reported by ModelConfig; undefined when off. */
  batching: { maxQueueDelayMs: number } | undefined;
  /** The server's own readiness besides the engine's (false during a delayed stop). */
  ready: () => boolean;
}

export function createInferenceService(context: ServiceContext): UntypedServiceImplementation {
  const { engine, checkKey } = context;
  const open = <Request, Response>(handler: Handler<Request, Response>) => unary(handler, undefined);
  const keyed = <Request, Response>(handler: Handler<Request, Response>) => unary(handler, checkKey);
  const streamInfer: handleBidiStreamingCall<ModelInferRequest, ModelStreamInferResponse> = (call) =>
    serveInferStream(context, checkKey, call);
  return {
    ServerLive: open(async () => ({ live: true })),
    ServerReady: open(async () => ({ ready: engine.isReady() && context.ready() })),
    ModelReady: keyed<ModelRequest, { ready: boolean }>(async (request) => ({
      ready: findModel(engine.models(), request.name, request.version)?.ready ?? false,
    })),
    ServerMetadata: keyed(async () => ({
      name: 'berth',
      version: context.serverVersion,
      extensions: SERVER_EXTENSIONS,
    })),
    ModelMetadata: keyed<ModelRequest, object>(async (request) => metadataOf(context, request)),
    ModelInfer: unaryInfer(context),
    ModelStreamInfer: streamInfer,
    ModelConfig: keyed<ModelRequest, object>(async (request) => configOf(context, request)),
    ModelStatistics: keyed<ModelRequest, object>(async (request) => statisticsOf(context, request)),
    RepositoryIndex: keyed<RepositoryIndexRequest, object>((request) => repositoryIndex(context, request)),
    RepositoryModelLoad: keyed<RepositoryModelRequest, object>((request) => repositoryLoad(context, request)),
    RepositoryModelUnload: keyed<RepositoryModelRequest, object>((request) =>
      repositoryUnload(context, request),
    ),
  };
}

type Handler<Request, Response> = (request: Request, metadata: Metadata) => Promise<Response>;

function unary<Request, Response>(
  handler: Handler<Request, Response>,
  checkKey: KeyCheck | undefined,
): handleUnaryCall<Request | MalformedMessage, Response> {
  return (call, callback) => {
    let answer: Promise<Response>;
    try {
      checkKey?.(call.metadata);
      const request = call.request;
      if (request instanceof MalformedMessage) throw request.error;
      answer = handler(request, call.metadata);
    } catch (error) {
      callback(toServiceError(error));
      return;
    }
    answer.then(
      (response) => callback(null, response),
      (error: unknown) => callback(toServiceError(error)),
    );
  };
}

/** ModelInfer: one inference under the call's deadline, which is cleared once it has settled. */
function unaryInfer(
  context: ServiceContext,
): handleUnaryCall<ModelInferRequest | MalformedMessage, ModelInferResponse> {
  return (call: ServerUnaryCall<ModelInferRequest | MalformedMessage, ModelInferResponse>, callback) => {
    let answer: Promise<ModelInferResponse>;
    let dispose: (() => void) | undefined;
    try {
      context.checkKey(call.metadata);
      const request = call.request;
      if (request instanceof MalformedMessage) throw request.error;
      const callSignal = createCallSignal(call, context.requestTimeoutMs);
      dispose = callSignal.dispose;
      answer = runInference(context, request, call.metadata, callSignal.signal);
    } catch (error) {
      dispose?.();
      callback(toServiceError(error));
      return;
    }
    answer.then(
      (response) => {
        dispose?.();
        callback(null, response);
      },
      (error: unknown) => {
        dispose?.();
        countFailure(context.metrics, error);
        callback(toServiceError(error));
      },
    );
  };
}
