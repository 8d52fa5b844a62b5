/**
 * The Open Inference Protocol v2 routes and the Triton extensions berth implements: health,
 * metadata, infer (JSON and binary tensor data), model configuration, statistics and the model
 * repository.
 */
import { BerthError } from '../../core/errors.js';
import { checkInputs, checkOutputNames } from '../protocols/signature-check.js';
import { decodeInferRequest, encodeInferResponse } from '../protocols/v2-json.js';
import { HEADER_LENGTH_HEADER, parseHeaderLength, splitBinaryBody } from '../protocols/v2-binary.js';
import { modelConfig, modelMetadata, modelStats, serverMetadata } from '../protocols/v2-metadata.js';
import { tensorsText } from '../data-collector.js';
import { padFor, parseJsonText, readBody } from './body.js';
import {
  findModel,
  inferInSlot,
  isJsonContentType,
  isOctetStream,
  notLive,
  versionsOf,
  withSlot,
  type HttpContext,
} from './context.js';
import type { CancelSignal } from '../cancel.js';
import type { LoadedModel } from '../engine.js';
import type { Exchange } from './exchange.js';

const EMPTY = '';

/** 200, or 503 when the replica can no longer score (a supervisor should replace it). */
export function serverLive(context: HttpContext, exchange: Exchange): void {
  const problem = notLive(context);
  if (problem !== undefined) exchange.sendError(problem);
  else exchange.send(200, 'text/plain', EMPTY);
}

export function serverReady(context: HttpContext, exchange: Exchange): void {
  const problem = notLive(context);
  if (problem === undefined && context.engine.isReady()) exchange.send(200, 'text/plain', EMPTY);
  else
    exchange.sendError(
      problem ?? new BerthError('NOT_READY', 'the server is not ready: models are still loading'),
      undefined,
      400,
    );
}

export function serverInfo(exchange: Exchange): void {
  exchange.sendJson(200, JSON.stringify(serverMetadata()));
}

function modelParam(exchange: Exchange): string {
  if (exchange.modelParam === undefined) throw new BerthError('INTERNAL', 'route without a model name');
  return exchange.modelParam;
}

export function modelInfo(context: HttpContext, exchange: Exchange): void {
  const model = findModel(context.engine, modelParam(exchange), exchange.versionParam);
  const versions = versionsOf(context.engine, model.name).map((loaded) => loaded.version);
  exchange.sendJson(200, JSON.stringify(modelMetadata(model, versions)));
}

export function modelReady(context: HttpContext, exchange: Exchange): void {
  const model = findModel(context.engine, modelParam(exchange), exchange.versionParam);
  if (model.ready) exchange.send(200, 'text/plain', EMPTY);
  else exchange.sendError(new BerthError('NOT_READY', `model "${model.name}" is not ready`), undefined, 400);
}

export function modelConfiguration(context: HttpContext, exchange: Exchange): void {
  const model = findModel(context.engine, modelParam(exchange), exchange.versionParam);
  const batching = context.options.engine.batching;
  exchange.sendJson(200, JSON.stringify(modelConfig(model, batching.enabled ? batching : undefined)));
}

export function statistics(context: HttpContext, exchange: Exchange): void {
  let stats;
  if (exchange.modelParam === undefined) {
    stats = context.engine.statistics();
  } else {
    const model = findModel(context.engine, exchange.modelParam, exchange.versionParam);
    stats = context.engine.statistics(model.name, exchange.versionParam);
  }
  exchange.sendJson(200, JSON.stringify(modelStats(stats)));
}

export async function infer(context: HttpContext, exchange: Exchange): Promise<void> {
  const { req } = exchange;
  const model = findModel(context.engine, modelParam(exchange), exchange.versionParam);
  exchange.model = model.name;
  const headerLength = parseHeaderLength(req.headers[HEADER_LENGTH_HEADER]);
  const contentType = req.headers['content-type'];
  if (headerLength === undefined) {
    if (isOctetStream(contentType)) {
      throw new BerthError(
        'UNSUPPORTED_MEDIA_TYPE',
        'an application/octet-stream body needs the Inference-Header-Content-Length header',
      );
    }
    if (!isJsonContentType(contentType)) {
      throw new BerthError(
        'UNSUPPORTED_MEDIA_TYPE',
        `content-type ${contentType} is not supported: send application/json`,
      );
    }
  } else if (!isOctetStream(contentType) && !isJsonContentType(contentType)) {
    throw new BerthError(
      'UNSUPPORTED_MEDIA_TYPE',
      `content-type ${contentType} is not supported: send application/octet-stream`,
    );
  }
  if (!model.ready) throw new BerthError('NOT_READY', `model "${model.name}" is not ready`);

  const signal = exchange.startDeadline(context.options.requestTimeoutMs);
  if (headerLength === undefined) {
    const body = await readBody(req, context.options.maxBodyBytes, 0, signal);
    if (takesEncoded(context, model.name, model.version, body.length))
      return inferOnWorker(context, exchange, model.name, model.version, body, signal);
    return inferDecoded(context, exchange, model, body, undefined, signal);
  }
  // A binary body's memory is reused once the engine has answered; after an abort a run may still
  // be reading it, so it is left to the garbage collector.
  const body = await readBody(
    req,
    context.options.maxBodyBytes,
    padFor(headerLength),
    signal,
    context.bodies,
  );
  try {
    await inferDecoded(context, exchange, model, body, headerLength, signal);
  } finally {
    if (!signal.aborted) context.bodies.release(body.buffer);
  }
}

async function inferDecoded(
  context: HttpContext,
  exchange: Exchange,
  model: LoadedModel,
  body: Buffer,
  headerLength: number | undefined,
  signal: CancelSignal,
): Promise<void> {
  let header: unknown;
  let binary: Buffer | undefined;
  if (headerLength === undefined) {
    header = parseJsonText(body.toString('utf8'));
  } else {
    const split = splitBinaryBody(body, headerLength);
    header = parseJsonText(split.headerText);
    binary = split.binary;
  }
  const request = decodeInferRequest(header, binary);
  checkInputs(model.signature, request.inputs);
  const outputNames = request.outputs?.map((output) => output.name);
  if (outputNames !== undefined) checkOutputNames(model.signature, outputNames);

  const collected = context.collector?.sample() === true ? tensorsText(request.inputs) : undefined;
  const result = await inferInSlot(context, exchange, signal, {
    model: model.name,
    version: model.version,
    inputs: request.inputs,
    outputs: outputNames,
  });
  exchange.batchSize = result.batchSize;
  context.metrics.recordInference(model.name, result.batchSize, result.queueMs, result.computeMs);
  const encoded = encodeInferResponse(result.model, result.version, request.id, result.outputs, request);
  if (encoded.binary.length === 0) exchange.sendJson(200, encoded.json);
  else exchange.sendBinary(200, encoded.json, encoded.binary);

  if (collected !== undefined) {
    context.collector?.capture({
      id: exchange.id,
      model: result.model,
      version: result.version,
      inputsText: collected,
      outputs: result.outputs,
    });
  }
}

/**
 * A large JSON body for a model on workers goes to a worker still encoded (engine.inferEncoded), so
 * the main thread does not spend its time parsing it. The data collector needs the decoded inputs
 * here, so with one on, every body is decoded on the main thread.
 */
export function takesEncoded(context: HttpContext, model: string, version: string, bytes: number): boolean {
  return (
    context.collector === undefined &&
    context.engine.inferEncoded !== undefined &&
    context.engine.acceptsEncoded?.(model, version, bytes) === true
  );
}

async function inferOnWorker(
  context: HttpContext,
  exchange: Exchange,
  model: string,
  version: string,
  body: Buffer,
  signal: CancelSignal,
): Promise<void> {
  const { engine } = context;
  const result = await withSlot(context, exchange, signal, () =>
    engine.inferEncoded!({ model, version, format: 'v2-json', body, signal, id: exchange.id }),
  );
  exchange.batchSize = result.batchSize;
  context.metrics.recordInference(model, result.batchSize, result.queueMs, result.computeMs);
  const request = result.request ?? { id: undefined, outputs: undefined, binaryOutput: false };
  const encoded = encodeInferResponse(result.model, result.version, request.id, result.outputs, request);
  if (encoded.binary.length === 0) exchange.sendJson(200, encoded.json);
  else exchange.sendBinary(200, encoded.json, encoded.binary);
}

function repositoryOf(context: HttpContext) {
  if (context.repository === undefined) {
    throw new BerthError(
      'BAD_INPUT',
      'the model repository API is off: this server was started without a model repository',
    );
  }
  return context.repository;
}

/** A repository request's optional JSON body (Triton sends `{}` or `{"ready": true}`). */
async function optionalJson(context: HttpContext, exchange: Exchange): Promise<Record<string, unknown>> {
  const signal = exchange.startDeadline(context.options.requestTimeoutMs);
  const body = await readBody(exchange.req, Math.min(context.options.maxBodyBytes, 1024 * 1024), 0, signal);
  if (body.length === 0) return {};
  const parsed = parseJsonText(body.toString('utf8'));
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new BerthError('BAD_INPUT', 'the body must be a JSON object');
  }
  return parsed as Record<string, unknown>;
}

export async function repositoryIndex(context: HttpContext, exchange: Exchange): Promise<void> {
  const repository = repositoryOf(context);
  const body = await optionalJson(context, exchange);
  if (body.ready !== undefined && typeof body.ready !== 'boolean')
    throw new BerthError('BAD_INPUT', '"ready" must be true or false');
  const entries = await repository.index();
  const shown = body.ready === true ? entries.filter((entry) => entry.state === 'READY') : entries;
  exchange.sendJson(200, JSON.stringify(shown));
}

export async function repositoryLoad(context: HttpContext, exchange: Exchange): Promise<void> {
  const repository = repositoryOf(context);
  await optionalJson(context, exchange);
  exchange.phase = 'engine';
  const model = await repository.resolve(modelParam(exchange), undefined);
  await context.engine.load(model);
  exchange.send(200, 'application/json', EMPTY);
}

export async function repositoryUnload(context: HttpContext, exchange: Exchange): Promise<void> {
  repositoryOf(context);
  await optionalJson(context, exchange);
  const name = modelParam(exchange);
  if (versionsOf(context.engine, name).length === 0)
    throw new BerthError('NOT_FOUND', `unknown model "${name}"`);
  exchange.phase = 'engine';
  await context.engine.unload(name);
  exchange.send(200, 'application/json', EMPTY);
}
