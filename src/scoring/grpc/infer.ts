/**
 * One inference as ModelInfer and each request of ModelStreamInfer run it, with what the HTTP
 * front end does around a v2 infer: the model's readiness and signature checked before admission
 * (a bad request never takes a slot), the metrics, and data collection with the same sampling and
 * the same records.
 */
import type { Metadata } from '@grpc/grpc-js';
import { BerthError, toBerthError } from '../../core/errors.js';
import { untilAborted, type CancelSignal } from '../cancel.js';
import { tensorsText, type DataCollector } from '../data-collector.js';
import type { Admission, InferenceEngine } from '../engine.js';
import type { ScoringMetrics } from '../metrics.js';
import { checkInputs, checkOutputNames } from '../protocols/signature-check.js';
import { decodeInputs } from './decode.js';
import { encodeResponse } from './encode.js';
import type { ModelInferRequest, ModelInferResponse } from './messages.js';
import { requireModel } from './models.js';
import { newRequestId } from '../request-id.js';

export interface InferenceContext {
  engine: InferenceEngine;
  admission: Admission;
  requestTimeoutMs: number;
  /** The server's one collector, shared with the HTTP front end; undefined when collection is off. */
  collector: DataCollector | undefined;
  /** The server's metrics, shared with the HTTP front end; undefined in tests that need none. */
  metrics: ScoringMetrics | undefined;
}

export async function runInference(
  context: InferenceContext,
  request: ModelInferRequest,
  metadata: Metadata,
  signal: CancelSignal,
): Promise<ModelInferResponse> {
  if (request.model_name === '') throw new BerthError('BAD_INPUT', 'model_name is required');
  const model = requireModel(context.engine.models(), request.model_name, request.model_version);
  if (!model.ready) throw new BerthError('NOT_READY', `model "${model.name}" is not ready`);
  const inputs = decodeInputs(request);
  const outputs = request.outputs.length > 0 ? request.outputs.map((output) => output.name) : undefined;
  checkInputs(model.signature, inputs);
  if (outputs !== undefined) checkOutputNames(model.signature, outputs);

  // The engine may take the input buffers over (transfer them to a worker), so the record's
  // inputs are written now, as the HTTP front end does.
  const collected = context.collector?.sample() === true ? tensorsText(inputs) : undefined;
  let release = signal?.aborted === true ? undefined : context.admission.tryAcquire();
  try {
    release ??= await context.admission.acquire(signal);
  } catch (error) {
    if (toBerthError(error).code === 'TOO_MANY_REQUESTS') context.metrics?.rejected.inc();
    throw error;
  }
  // The slot is held until the engine settles, even when the caller has stopped waiting: the
  // work is still running, and admission's count must say so.
  const inference = context.engine
    .infer({ model: model.name, version: model.version, inputs, outputs, signal })
    .finally(release);
  const response = await untilAborted(inference, signal);
  context.metrics?.recordInference(response.model, response.batchSize, response.queueMs, response.computeMs);
  const encoded = encodeResponse(response, request.id, outputs);
  if (collected !== undefined) {
    context.collector?.capture({
      id: requestIdOf(metadata, request.id),
      model: response.model,
      version: response.version,
      inputsText: collected,
      outputs: response.outputs,
    });
  }
  return encoded;
}

/** Counts a failed inference the way the HTTP front end counts a failed request. */
export function countFailure(metrics: ScoringMetrics | undefined, error: unknown): void {
  const code = toBerthError(error).code;
  if (code === 'UPSTREAM_TIMEOUT' || code === 'REQUEST_TIMEOUT') metrics?.timeouts.inc();
}

const MAX_ID_LENGTH = 200;

/**
 * A collected record's id: the `x-request-id` metadata (what the HTTP front end reads from the
 * header of that name), else the request's own `id`, else a fresh UUID.
 */
export function requestIdOf(metadata: Metadata, protocolId: string): string {
  const [given] = metadata.get('x-request-id');
  if (typeof given === 'string' && given !== '' && given.length <= MAX_ID_LENGTH) return given;
  if (protocolId !== '' && protocolId.length <= MAX_ID_LENGTH) return protocolId;
  return newRequestId();
}
