/**
 * Turns the engine's output tensors into a ModelInferResponse. Outputs always travel in
 * `raw_output_contents`, as Triton answers, whichever form the request used: stock clients read
 * both, raw costs no per-element work, and FP16 has no typed form at all.
 */
import { BerthError } from '../../core/errors.js';
import { endianness } from 'node:os';
import type { InferResponse, TensorValue } from '../engine.js';
import type { InferOutputTensor, ModelInferResponse } from './messages.js';

const littleEndianHost = endianness() === 'LE';

export function encodeResponse(
  response: InferResponse,
  id: string,
  order: string[] | undefined,
): ModelInferResponse {
  const names = order ?? Object.keys(response.outputs);
  const outputs: InferOutputTensor[] = [];
  const raw: Buffer[] = [];
  for (const name of names) {
    const tensor = response.outputs[name];
    if (tensor === undefined) throw new BerthError('INTERNAL', `the engine returned no output '${name}'`);
    outputs.push({ name, datatype: tensor.datatype, shape: tensor.shape });
    raw.push(encodeRaw(tensor));
  }
  return {
    model_name: response.model,
    model_version: response.version,
    id,
    outputs,
    raw_output_contents: raw,
  };
}

export function encodeRaw(tensor: TensorValue): Buffer {
  const { data } = tensor;
  if (Array.isArray(data)) return encodeStrings(data);
  // A view over the engine's array: protobuf encoding copies it into the message once.
  const view = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (littleEndianHost || data.BYTES_PER_ELEMENT === 1) return view;
  const swapped = Buffer.from(view);
  if (data.BYTES_PER_ELEMENT === 2) return swapped.swap16();
  if (data.BYTES_PER_ELEMENT === 4) return swapped.swap32();
  return swapped.swap64();
}

/** BYTES raw layout: each element a 4-byte little-endian length, then its UTF-8 bytes. */
export function encodeStrings(strings: readonly string[]): Buffer {
  const parts = strings.map((text) => Buffer.from(text, 'utf8'));
  const out = Buffer.allocUnsafe(parts.reduce((sum, part) => sum + 4 + part.byteLength, 0));
  let offset = 0;
  for (const part of parts) {
    offset = out.writeUInt32LE(part.byteLength, offset);
    offset += part.copy(out, offset);
  }
  return out;
}
