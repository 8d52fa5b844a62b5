/**
 * A worker thread's half of `inferEncoded`: the raw JSON body in, checked tensors out. It runs the
 * very steps the HTTP handlers and the engine run on the main thread, in the same order (parse,
 * decode, signature check, engine validation), so a bad body gets the same error either way. The
 * body is parsed from its bytes, leaving large numeric arrays for the tensor decoders to read
 * straight into typed arrays; the values and errors are JSON.parse's.
 */
import type { ModelSignature } from '../../core/tensor.js';
import type { EncodedInferRequest, EncodedRequestInfo, TensorValue } from '../engine.js';
import { parseJsonBytes } from '../protocols/json-bytes.js';
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

export interface DecodeTarget {
  name: string;
  version: string;
  signature: ModelSignature;
  hasBatchDimension: boolean;
}

export function decodeBody(
  format: EncodedInferRequest['format'],
  body: Uint8Array,
  model: DecodeTarget,
): DecodedBody {
  return decodeParsed(format, parseBody(format, body, model.signature), model);
}

/** The steps after parsing: the protocol's decoding, the signature check and engine validation. */
export function decodeParsed(
  format: EncodedInferRequest['format'],
  parsed: unknown,
  model: DecodeTarget,
): DecodedBody {
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
  const checked = validateInferRequest(model, model.signature, { inputs, outputs }, model.hasBatchDimension);
  return { inputs, outputs, rows: checked.rows, request };
}

/**
 * Parses from the bytes, except for a model that takes an FP64 input: FP64 needs every number
 * exactly, and JSON.parse reads long decimals exactly faster than a span can.
 */
function parseBody(
  format: EncodedInferRequest['format'],
  body: Uint8Array,
  signature: ModelSignature,
): unknown {
  if (signature.inputs.some((spec) => spec.datatype === 'FP64')) {
    return parseJsonText(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
  }
  return parseJsonBytes(body, format);
}
