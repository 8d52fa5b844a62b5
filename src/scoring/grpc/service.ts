/**
 * The six RPCs of the inference service, written against the engine contract. Liveness and
 * readiness answer without a key (orchestrator probes carry none); every other call needs one
 * when keys are configured. Every ModelInfer passes through admission before it reaches the engine.
 */
import type { handleUnaryCall, ServerUnaryCall, UntypedServiceImplementation } from '@grpc/grpc-js';
import { BerthError } from '../../core/errors.js';
import type { TensorSpec } from '../../core/tensor.js';
import { untilAborted } from '../cancel.js';
import type { Admission, InferenceEngine, LoadedModel } from '../engine.js';
import { checkInputs, checkOutputNames } from '../protocols/signature-check.js';
import type { KeyCheck } from './auth.js';
import { createCallSignal } from './deadline.js';
import { decodeInputs } from './decode.js';
import { encodeResponse } from './encode.js';
import type {
  ModelInferRequest,
  ModelInferResponse,
  ModelMetadataResponse,
  ModelRequest,
  TensorMetadata,
} from './messages.js';
import { toServiceError } from './status.js';

export interface ServiceContext {
  engine: InferenceEngine;
  admission: Admission;
  checkKey: KeyCheck;
  requestTimeoutMs: number;
  serverVersion: string;
}

/** Names the engine's model platform the way Triton does, so clients that switch on it work. */
const ONNX_PLATFORM = 'onnxruntime_onnx';
const SCRIPT_PLATFORM = 'berth_script';

export function createInferenceService(context: ServiceContext): UntypedServiceImplementation {
  const { engine, checkKey } = context;
  return {
    ServerLive: unary(async () => ({ live: true })),
    ServerReady: unary(async () => ({ ready: engine.isReady() })),
    ModelReady: unary<ModelRequest, { ready: boolean }>(async (call) => {
      checkKey(call.metadata);
      const model = findModel(engine.models(), call.request.name, call.request.version);
      return { ready: model?.ready ?? false };
    }),
    ServerMetadata: unary(async (call) => {
      checkKey(call.metadata);
      return { name: 'berth', version: context.serverVersion, extensions: [] };
    }),
    ModelMetadata: unary<ModelRequest, ModelMetadataResponse>(async (call) => {
      checkKey(call.metadata);
      return modelMetadata(engine.models(), call.request);
    }),
    ModelInfer: unary<ModelInferRequest, ModelInferResponse>(async (call) => modelInfer(context, call)),
  };
}

function unary<Request, Response>(
  handler: (call: ServerUnaryCall<Request, Response>) => Promise<Response>,
): handleUnaryCall<Request, Response> {
  return (call, callback) => {
    handler(call).then(
      (response) => callback(null, response),
      (error: unknown) => callback(toServiceError(error)),
    );
  };
}

async function modelInfer(
  context: ServiceContext,
  call: ServerUnaryCall<ModelInferRequest, ModelInferResponse>,
): Promise<ModelInferResponse> {
  context.checkKey(call.metadata);
  const request = call.request;
  if (request.model_name === '') throw new BerthError('BAD_INPUT', 'model_name is required');
  // Decoding and checking first refuse malformed requests before they take an admission slot,
  // with the same messages the HTTP front end gives.
  const inputs = decodeInputs(request);
  const outputs = request.outputs.length > 0 ? request.outputs.map((output) => output.name) : undefined;
  const model = requireModel(context.engine.models(), request.model_name, request.model_version);
  checkInputs(model.signature, inputs);
  if (outputs !== undefined) checkOutputNames(model.signature, outputs);
  const { signal, dispose } = createCallSignal(call, context.requestTimeoutMs);
  try {
    const release = await context.admission.acquire(signal);
    // The slot is held until the engine settles, even when the caller has stopped waiting: the
    // work is still running, and admission's count must say so.
    const inference = context.engine
      .infer({
        model: request.model_name,
        version: request.model_version || undefined,
        inputs,
        outputs,
        signal,
      })
      .finally(release);
    const response = await untilAborted(inference, signal);
    return encodeResponse(response, request.id, outputs);
  } finally {
    dispose();
  }
}

/** The named version, or with none named the newest loaded one (numeric versions compare as numbers). */
export function findModel(models: LoadedModel[], name: string, version: string): LoadedModel | undefined {
  const candidates = models.filter(
    (model) => model.name === name && (version === '' || model.version === version),
  );
  return candidates.sort((a, b) => compareVersions(b.version, a.version))[0];
}

function compareVersions(a: string, b: string): number {
  const numeric = /^\d+$/;
  if (numeric.test(a) && numeric.test(b)) return Number(a) - Number(b);
  return a.localeCompare(b);
}

function requireModel(models: LoadedModel[], name: string, version: string): LoadedModel {
  const model = findModel(models, name, version);
  if (model === undefined) {
    const which = version === '' ? `"${name}"` : `"${name}" version "${version}"`;
    throw new BerthError('NOT_FOUND', `model ${which} is not loaded`);
  }
  return model;
}

function modelMetadata(models: LoadedModel[], request: ModelRequest): ModelMetadataResponse {
  const model = requireModel(models, request.name, request.version);
  const versions = models.filter((other) => other.name === model.name).map((other) => other.version);
  return {
    name: model.name,
    versions: versions.sort(compareVersions),
    platform: model.signature === null ? SCRIPT_PLATFORM : ONNX_PLATFORM,
    inputs: (model.signature?.inputs ?? []).map(tensorMetadata),
    outputs: (model.signature?.outputs ?? []).map(tensorMetadata),
  };
}

function tensorMetadata(spec: TensorSpec): TensorMetadata {
  return {
    name: spec.name,
    datatype: spec.datatype,
    shape: spec.shape.map((size) => (typeof size === 'number' ? size : -1)),
  };
}
