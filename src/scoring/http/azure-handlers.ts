/**
 * The Azure-ML-style routes: `GET /` (liveness), `POST /score` and `GET /swagger.json`. With a
 * scoring script the parsed body (or, in raw mode, the raw request) goes to the script's `run`;
 * without one, an ONNX model is scored from its signature (protocols/azure.ts).
 */
import { BerthError, hasErrorCode } from '../../core/errors.js';
import type { LoadedModel } from '../engine.js';
import { decodeScoreBody, encodeScoreResponse } from '../protocols/azure.js';
import { openApiDocument } from '../protocols/openapi.js';
import { bodyText, tensorsText } from '../data-collector.js';
import { parseJsonText, readBody } from './body.js';
import { inferInSlot, isJsonContentType, notLive, withSlot, type HttpContext } from './context.js';
import type { Exchange } from './exchange.js';
import { takesEncoded } from './v2-handlers.js';

/** Azure's liveness route: 'Healthy', or 503 when the replica can no longer score. */
export function health(context: HttpContext, exchange: Exchange): void {
  const problem = notLive(context);
  if (problem !== undefined) exchange.sendError(problem);
  else exchange.send(200, 'text/plain; charset=utf-8', 'Healthy');
}

/** The model `/score` serves: the scripted one when a script is set, else the first loaded. */
function scoreModel(context: HttpContext): LoadedModel | undefined {
  const models = context.engine.models();
  return models.find((model) => model.scripted) ?? models[0];
}

export function swagger(context: HttpContext, exchange: Exchange): void {
  exchange.sendJson(200, JSON.stringify(openApiDocument(scoreModel(context), context.scriptSchemas())));
}

const runFailedHeaders = { 'x-ms-run-function-failed': 'True' };

export async function score(context: HttpContext, exchange: Exchange): Promise<void> {
  const model = scoreModel(context);
  const scripted = context.options.engine.scoringScript !== undefined || model?.scripted === true;
  if (model === undefined && !scripted) throw new BerthError('NOT_READY', 'no model is loaded');
  if (model !== undefined) exchange.model = model.name;
  const { req } = exchange;
  const contentType = req.headers['content-type'];
  const raw = scripted && context.scriptSchemas()?.rawRequest === true;
  if (!raw && !isJsonContentType(contentType)) {
    throw new BerthError(
      'UNSUPPORTED_MEDIA_TYPE',
      `content-type ${contentType} is not supported: send application/json`,
    );
  }
  const signal = exchange.startDeadline(context.options.requestTimeoutMs);
  const body = await readBody(req, context.options.maxBodyBytes, 0, signal);

  if (scripted) {
    let parsed: unknown;
    if (!raw) parsed = parseJsonText(body.toString('utf8'));
    else if (isJsonContentType(contentType) && body.length > 0) {
      try {
        parsed = JSON.parse(body.toString('utf8'));
      } catch {
        parsed = undefined;
      }
    }
    const rawRequest = raw
      ? {
          bytes: body,
          headers: flatHeaders(exchange),
          method: req.method ?? 'POST',
          path: req.url ?? '/score',
        }
      : undefined;
    // Scripted requests are collected as JSON (or text) in and out, as tensors are below.
    const collect = context.collector?.sample() === true;
    let response;
    try {
      response = await withSlot(context, exchange, signal, () =>
        context.engine.runScript({
          model: model?.name ?? '',
          body: parsed,
          raw: rawRequest,
          signal,
          id: exchange.id,
        }),
      );
    } catch (error) {
      if (hasErrorCode(error, 'RUN_FAILED') || (error instanceof Error && !hasErrorCode(error))) {
        exchange.sendError(error, runFailedHeaders, 500);
        return;
      }
      throw error;
    }
    const execHeaders = { 'x-ms-run-fn-exec-ms': String(Math.round(response.execMs)) };
    const { body: answer, contentType: answerType } = response;
    if (answer instanceof Uint8Array) exchange.send(response.status, answerType, answer, execHeaders);
    else if (typeof answer === 'string' && !answerType.includes('json'))
      exchange.send(response.status, answerType, answer, execHeaders);
    else exchange.send(response.status, answerType, JSON.stringify(answer) ?? 'null', execHeaders);
    if (collect && response.status < 400) {
      context.collector?.capture({
        id: exchange.id,
        model: model?.name ?? 'script',
        version: model?.version ?? '',
        inputsText: bodyText(body, isJsonContentType(contentType)),
        outputs: {},
        outputsText:
          answer instanceof Uint8Array || typeof answer === 'string'
            ? bodyText(answer, answerType.includes('json'))
            : (JSON.stringify(answer) ?? 'null'),
      });
    }
    return;
  }

  if (model!.signature === null)
    throw new BerthError('NOT_IMPLEMENTED', `model "${model!.name}" has no signature and no scoring script`);
  if (takesEncoded(context, model!.name, model!.version, body.length)) {
    const { engine } = context;
    const encoded = await withSlot(context, exchange, signal, () =>
      engine.inferEncoded!({
        model: model!.name,
        version: model!.version,
        format: 'azure-json',
        body,
        signal,
        id: exchange.id,
      }),
    );
    exchange.batchSize = encoded.batchSize;
    context.metrics.recordInference(encoded.model, encoded.batchSize, encoded.queueMs, encoded.computeMs);
    exchange.sendJson(200, encodeScoreResponse(encoded.outputs), {
      'x-ms-run-fn-exec-ms': String(Math.round(encoded.queueMs + encoded.computeMs)),
    });
    return;
  }
  const inputs = decodeScoreBody(parseJsonText(body.toString('utf8')), model!.signature);
  const collected = context.collector?.sample() === true ? tensorsText(inputs) : undefined;
  const result = await inferInSlot(context, exchange, signal, {
    model: model!.name,
    version: model!.version,
    inputs,
    outputs: undefined,
  });
  exchange.batchSize = result.batchSize;
  context.metrics.recordInference(result.model, result.batchSize, result.queueMs, result.computeMs);
  exchange.sendJson(200, encodeScoreResponse(result.outputs), {
    'x-ms-run-fn-exec-ms': String(Math.round(result.queueMs + result.computeMs)),
  });
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

function flatHeaders(exchange: Exchange): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(exchange.req.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return headers;
}
