/**
 * A worker thread's half of `inferEncoded`: the raw JSON body in, checked tensors out. It runs the
 * very steps the HTTP handlers and the engine run on the main thread, in the same order (parse,
 * decode, signature check, engine validation), so a bad body gets the same error either way.
 */
import type { ModelSignature } from '../../core/tensor.js';
import type { EncodedInferRequest, EncodedRequestInfo, TensorValue } from '../engine.js';
import { parseJsonText } from '../protocols/json-text.js';
import { decodeScoreBody } from '../protocols/azure.js';
import { checkInputs, checkOutputNames } from '../protocols/signature-check.js';
import { decodeInferRequest } from '../protocols/v2-json.js';
import { validateInferRequest } from './validate.js';

export interface DecodedBody {
  inputs: Record<string, TensorValue>;
  outputs: string[] | undefined;
  rows: number;
  request: EncodedRequestInfo | undefined;
}

export function decodeBody(
  format: EncodedInferRequest['format'],
  body: Uint8Array,
  model: { name: string; version: string; signature: ModelSignature; hasBatchDimension: boolean },
): DecodedBody {
  const text = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
  const parsed = parseJsonText(text);
  let inputs: Record<string, TensorValue>;
  let outputs: string[] | undefined;
  let request: EncodedRequestInfo | undefined;
  if (format === 'v2-json') {
    const decoded = decodeInferRequest(parsed, undefined);
    checkInputs(model.signature, decoded.inputs);
    outputs = decoded.outputs?.map((output) => output.name);
    if (outputs !== undefined) checkOutputNames(model.signature, outputs);
    inputs = decoded.inputs;
    request = { id: decoded.id, outputs: decoded.outputs, binaryOutput: decoded.binaryOutput };
  } else {
    inputs = decodeScoreBody(parsed, model.signature);
  }
  const label = `"${model.name}" version ${model.version}`;
  const checked = validateInferRequest(label, model.signature, { inputs, outputs }, model.hasBatchDimension);
  return { inputs, outputs, rows: checked.rows, request };
}
