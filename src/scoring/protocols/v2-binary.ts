/**
 * The binary tensor data extension (KServe v2 / Triton): a request whose
 * `Inference-Header-Content-Length: N` header is set carries N bytes of JSON, then the raw
 * little-endian bytes of every input that names `parameters.binary_data_size`, in input order.
 * BYTES elements are each preceded by a 4-byte little-endian length. Decoding makes typed-array
 * views over the request's own memory when the offset suits the element size, and copies only
 * when it does not.
 */
import { endianness } from 'node:os';
import { BerthError } from '../../core/errors.js';
import { datatypeInfo, type TensorDatatype } from '../../core/tensor.js';
import type { TensorData, TensorValue } from '../engine.js';
import { elementCount, formatDims } from './element-count.js';

export const HEADER_LENGTH_HEADER = 'inference-header-content-length';

const littleEndianHost = endianness() === 'LE';

/** Parses the `Inference-Header-Content-Length` value; undefined when the header is absent. */
export function parseHeaderLength(value: string | string[] | undefined): number | undefined {
  if (value === undefined) return undefined;
  const text = Array.isArray(value) ? value[0] : value;
  const length = Number(text);
  if (text === undefined || text.trim() === '' || !Number.isSafeInteger(length) || length < 0) {
    throw new BerthError(
      'BAD_INPUT',
      `Inference-Header-Content-Length must be a non-negative integer, got ${JSON.stringify(text)}`,
    );
  }
  return length;
}

/** Splits a binary request body into its JSON header text and the tensor bytes after it. */
export function splitBinaryBody(body: Buffer, headerLength: number): { headerText: string; binary: Buffer } {
  if (headerLength > body.length) {
    throw new BerthError(
      'BAD_INPUT',
      `Inference-Header-Content-Length is ${headerLength} but the body has only ${body.length} bytes`,
    );
  }
  return { headerText: body.toString('utf8', 0, headerLength), binary: body.subarray(headerLength) };
}

function view(datatype: TensorDatatype, buffer: ArrayBufferLike, offset: number, count: number): TensorData {
  switch (datatype) {
    case 'BOOL':
    case 'UINT8':
      return new Uint8Array(buffer, offset, count);
    case 'INT8':
      return new Int8Array(buffer, offset, count);
    case 'UINT16':
    case 'FP16':
      return new Uint16Array(buffer, offset, count);
    case 'INT16':
      return new Int16Array(buffer, offset, count);
    case 'UINT32':
      return new Uint32Array(buffer, offset, count);
    case 'INT32':
      return new Int32Array(buffer, offset, count);
    case 'FP32':
      return new Float32Array(buffer, offset, count);
    case 'UINT64':
      return new BigUint64Array(buffer, offset, count);
    case 'INT64':
      return new BigInt64Array(buffer, offset, count);
    case 'FP64':
      return new Float64Array(buffer, offset, count);
    case 'BYTES':
      throw new BerthError('INTERNAL', 'BYTES tensors have no fixed-size view');
  }
}

/** Decodes one input's bytes (`region`, exactly its binary_data_size) as `datatype` and `shape`. */
export function decodeBinaryTensor(
  name: string,
  datatype: TensorDatatype,
  shape: readonly number[],
  region: Buffer,
): TensorData {
  const count = elementCount(shape);
  if (datatype === 'BYTES') return decodeBytesElements(name, shape, count, region);
  if (!littleEndianHost) throw new BerthError('NOT_IMPLEMENTED', 'binary tensors need a little-endian host');
  const size = datatypeInfo[datatype].bytes;
  if (region.length !== count * size) {
    throw new BerthError(
      'BAD_INPUT',
      `input "${name}": binary_data_size is ${region.length} bytes but shape [${shape.join(',')}] of ${datatype} needs ${count * size}`,
    );
  }
  if (region.byteOffset % size === 0) return view(datatype, region.buffer, region.byteOffset, count);
  const aligned = new Uint8Array(region.length);
  aligned.set(region);
  return view(datatype, aligned.buffer, 0, count);
}

function decodeBytesElements(
  name: string,
  shape: readonly number[],
  count: number,
  region: Buffer,
): string[] {
  // Every element takes at least its 4-byte length: a shape asking for more is refused before
  // the array for it is made.
  if (count > region.length / 4) {
    throw new BerthError(
      'BAD_INPUT',
      `input "${name}": shape ${formatDims(shape)} needs ${count} BYTES elements but its ${region.length} bytes of binary data hold at most ${Math.floor(region.length / 4)}`,
    );
  }
  const strings = new Array<string>(count);
  let offset = 0;
  for (let i = 0; i < count; i++) {
    if (offset + 4 > region.length) {
      throw new BerthError(
        'BAD_INPUT',
        `input "${name}": binary data ends after ${i} of ${count} BYTES elements (shape [${shape.join(',')}])`,
      );
    }
    const length = region.readUInt32LE(offset);
    offset += 4;
    if (offset + length > region.length) {
      throw new BerthError(
        'BAD_INPUT',
        `input "${name}": BYTES element ${i} claims ${length} bytes past the end of its data`,
      );
    }
    strings[i] = region.toString('utf8', offset, offset + length);
    offset += length;
  }
  if (offset !== region.length) {
    throw new BerthError(
      'BAD_INPUT',
      `input "${name}": ${region.length - offset} bytes left over after ${count} BYTES elements`,
    );
  }
  return strings;
}

/** The wire bytes of a tensor: a view over its memory for fixed-size types, length-prefixed for BYTES. */
export function encodeBinaryTensor(value: TensorValue): Uint8Array {
  const { data } = value;
  if (Array.isArray(data)) {
    const parts = data.map((text) => Buffer.from(text, 'utf8'));
    const out = Buffer.allocUnsafe(parts.reduce((sum, part) => sum + 4 + part.length, 0));
    let offset = 0;
    for (const part of parts) {
      out.writeUInt32LE(part.length, offset);
      part.copy(out, offset + 4);
      offset += 4 + part.length;
    }
    return out;
  }
  if (!littleEndianHost) throw new BerthError('NOT_IMPLEMENTED', 'binary tensors need a little-endian host');
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}
