/**
 * Turns a ModelInferRequest's inputs into engine tensors, from either representation the protocol
 * allows: typed `contents` per input, or `raw_input_contents` (one little-endian byte string per
 * input, in input order). Only the wire is checked here (datatype names, shapes, element counts,
 * value ranges); checking inputs against the model's signature is the engine's job.
 */
import { endianness } from 'node:os';
import { BerthError } from '../../core/errors.js';
import { datatypeInfo, tensorDatatypes, type TensorDatatype } from '../../core/tensor.js';
import type { TensorData, TensorValue } from '../engine.js';
import { arrayClassOf, type NumericArrayConstructor } from '../runtimes/tensor-data.js';
import type { InferInputTensor, InferTensorContents, Int64, ModelInferRequest } from './messages.js';

/** Raw contents are little-endian; reading them in place is only right on a little-endian host. */
const littleEndianHost = endianness() === 'LE';

export function decodeInputs(request: ModelInferRequest): Record<string, TensorValue> {
  const raw = request.raw_input_contents;
  if (raw.length > 0 && raw.length !== request.inputs.length) {
    throw new BerthError(
      'BAD_INPUT',
      `raw_input_contents has ${raw.length} entries but the request has ${request.inputs.length} inputs: send one per input, in order`,
    );
  }
  const inputs: Record<string, TensorValue> = {};
  request.inputs.forEach((input, index) => {
    if (Object.hasOwn(inputs, input.name))
      throw new BerthError('BAD_INPUT', `input '${input.name}' is sent twice`);
    const datatype = parseDatatype(input);
    const shape = parseShape(input);
    const count = shape.reduce((product, size) => product * size, 1);
    const bytes = raw[index];
    let data: TensorData;
    if (bytes !== undefined) {
      if (input.contents !== null) {
        throw new BerthError(
          'BAD_INPUT',
          `input '${input.name}' has contents while raw_input_contents is used`,
        );
      }
      data = decodeRaw(input.name, datatype, count, bytes);
    } else {
      data = decodeContents(input.name, datatype, count, input.contents);
    }
    inputs[input.name] = { datatype, shape, data };
  });
  return inputs;
}

function parseDatatype(input: InferInputTensor): TensorDatatype {
  const found = tensorDatatypes.find((datatype) => datatype === input.datatype);
  if (found === undefined) {
    throw new BerthError(
      'BAD_INPUT',
      `input '${input.name}' has unknown datatype '${input.datatype}': use one of ${tensorDatatypes.join(', ')}`,
    );
  }
  return found;
}

function parseShape(input: InferInputTensor): number[] {
  return input.shape.map((text) => {
    const size = Number(text);
    if (!Number.isSafeInteger(size) || size < 0) {
      throw new BerthError('BAD_INPUT', `input '${input.name}' has invalid dimension ${text} in its shape`);
    }
    return size;
  });
}

function decodeRaw(name: string, datatype: TensorDatatype, count: number, bytes: Buffer): TensorData {
  if (datatype === 'BYTES') return decodeRawStrings(name, count, bytes);
  const width = datatypeInfo[datatype].bytes;
  if (bytes.byteLength !== count * width) {
    throw new BerthError(
      'BAD_INPUT',
      `input '${name}' raw contents are ${bytes.byteLength} bytes but ${count} ${datatype} elements need ${count * width}`,
    );
  }
  const ArrayType = arrayClassOf[datatype];
  if (!littleEndianHost) return readBigEndianHost(ArrayType, bytes, count, width);
  // A typed array over the received message needs an offset aligned to its element width; when
  // the protobuf framing leaves it unaligned, one copy realigns it.
  const aligned = bytes.byteOffset % width === 0 ? bytes : Buffer.from(bytes);
  return new ArrayType(aligned.buffer as ArrayBuffer, aligned.byteOffset, count);
}

function readBigEndianHost(
  ArrayType: NumericArrayConstructor,
  bytes: Buffer,
  count: number,
  width: number,
): TensorData {
  const swapped = Buffer.from(bytes);
  if (width === 2) swapped.swap16();
  else if (width === 4) swapped.swap32();
  else if (width === 8) swapped.swap64();
  return new ArrayType(swapped.buffer, swapped.byteOffset, count);
}

/** BYTES raw layout: each element is a 4-byte little-endian length, then that many bytes. */
function decodeRawStrings(name: string, count: number, bytes: Buffer): string[] {
  const strings: string[] = [];
  let offset = 0;
  while (offset < bytes.byteLength) {
    if (offset + 4 > bytes.byteLength) break;
    const length = bytes.readUInt32LE(offset);
    const end = offset + 4 + length;
    if (end > bytes.byteLength) break;
    strings.push(bytes.toString('utf8', offset + 4, end));
    offset = end;
  }
  if (offset !== bytes.byteLength || strings.length !== count) {
    throw new BerthError(
      'BAD_INPUT',
      `input '${name}' raw BYTES contents hold ${strings.length} well-formed length-prefixed elements` +
        `${offset !== bytes.byteLength ? ' and trailing bytes' : ''}, but its shape needs ${count}`,
    );
  }
  return strings;
}

/** The contents field each datatype travels in, and the value range it must fit. */
const contentFields: Record<
  TensorDatatype,
  { field: keyof InferTensorContents; min?: number; max?: number }
> = {
  BOOL: { field: 'bool_contents' },
  INT8: { field: 'int_contents', min: -128, max: 127 },
  INT16: { field: 'int_contents', min: -32768, max: 32767 },
  INT32: { field: 'int_contents' },
  INT64: { field: 'int64_contents' },
  UINT8: { field: 'uint_contents', min: 0, max: 255 },
  UINT16: { field: 'uint_contents', min: 0, max: 65535 },
  UINT32: { field: 'uint_contents' },
  UINT64: { field: 'uint64_contents' },
  FP16: { field: 'fp32_contents' },
  FP32: { field: 'fp32_contents' },
  FP64: { field: 'fp64_contents' },
  BYTES: { field: 'bytes_contents' },
};

function decodeContents(
  name: string,
  datatype: TensorDatatype,
  count: number,
  contents: InferTensorContents | null,
): TensorData {
  if (datatype === 'FP16') {
    throw new BerthError(
      'BAD_INPUT',
      `input '${name}' is FP16, which has no typed contents: send it in raw_input_contents`,
    );
  }
  const { field, min, max } = contentFields[datatype];
  const values = contents?.[field] ?? [];
  if (values.length !== count) {
    throw new BerthError(
      'BAD_INPUT',
      `input '${name}' has ${values.length} values in contents.${field} but its ${datatype} shape needs ${count}`,
    );
  }
  switch (datatype) {
    case 'BOOL':
      return Uint8Array.from(values as boolean[], (value) => (value ? 1 : 0));
    case 'BYTES':
      return (values as Buffer[]).map((value) => value.toString('utf8'));
    case 'INT64':
    case 'UINT64':
      return toBigInts(name, datatype, values as Int64[]);
    default: {
      const numbers = values as number[];
      if (min !== undefined && max !== undefined) checkRange(name, datatype, numbers, min, max);
      return (arrayClassOf[datatype] as Float64ArrayConstructor).from(numbers);
    }
  }
}

function checkRange(
  name: string,
  datatype: TensorDatatype,
  values: number[],
  min: number,
  max: number,
): void {
  const bad = values.find((value) => value < min || value > max);
  if (bad !== undefined) {
    throw new BerthError(
      'BAD_INPUT',
      `input '${name}' value ${bad} is outside the ${datatype} range [${min}, ${max}]`,
    );
  }
}

function toBigInts(
  name: string,
  datatype: 'INT64' | 'UINT64',
  values: Int64[],
): BigInt64Array | BigUint64Array {
  try {
    return datatype === 'INT64' ? BigInt64Array.from(values, BigInt) : BigUint64Array.from(values, BigInt);
  } catch (error) {
    throw new BerthError('BAD_INPUT', `input '${name}' has a value that is not a ${datatype}`, {
      cause: error,
    });
  }
}
