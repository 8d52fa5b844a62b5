/**
 * Tensors as JSON: arrays of numbers, booleans or strings, flat or nested row-major, into the typed
 * arrays the engine takes, and back into JSON text. Every element is checked once, on the way in,
 * so a bad value is named with its input and position; output is written as text directly (no
 * intermediate arrays, no second serialisation). Data may also come as a NumberArraySpan (bodies
 * parsed from bytes on the workers): its numbers are read straight into the typed array, and a span
 * that breaks any rule is turned into plain arrays and read the ordinary way, for the same error.
 */
import { BerthError } from '../../core/errors.js';
import type { TensorDatatype } from '../../core/tensor.js';
import type { TensorData, TensorValue } from '../engine.js';
import { MAX_JSON_RANK, countMismatch, elementCount, formatDims, nestedValueCount } from './element-count.js';
import { fromHalfBits, toHalfBits } from './fp16.js';
import { NumberArraySpan } from './number-span.js';

export { MAX_JSON_RANK, elementCount } from './element-count.js';

export function allocateTensorData(datatype: TensorDatatype, count: number): TensorData {
  switch (datatype) {
    case 'BOOL':
    case 'UINT8':
      return new Uint8Array(count);
    case 'UINT16':
    case 'FP16':
      return new Uint16Array(count);
    case 'UINT32':
      return new Uint32Array(count);
    case 'UINT64':
      return new BigUint64Array(count);
    case 'INT8':
      return new Int8Array(count);
    case 'INT16':
      return new Int16Array(count);
    case 'INT32':
      return new Int32Array(count);
    case 'INT64':
      return new BigInt64Array(count);
    case 'FP32':
      return new Float32Array(count);
    case 'FP64':
      return new Float64Array(count);
    case 'BYTES':
      return new Array<string>(count);
  }
}

type Converter = (value: unknown) => number | bigint | string | undefined;

function integer(min: number, max: number): Converter {
  return (value) =>
    typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max ? value : undefined;
}

function bigInteger(min: number, maxExclusive: number): Converter {
  return (value) =>
    typeof value === 'number' && Number.isInteger(value) && value >= min && value < maxExclusive
      ? BigInt(value)
      : undefined;
}

/** Each converter returns undefined for a value the datatype cannot hold. */
const converters: Record<TensorDatatype, Converter> = {
  BOOL: (value) => (value === true ? 1 : value === false ? 0 : undefined),
  UINT8: integer(0, 0xff),
  UINT16: integer(0, 0xffff),
  UINT32: integer(0, 0xffffffff),
  UINT64: bigInteger(0, 2 ** 64),
  INT8: integer(-0x80, 0x7f),
  INT16: integer(-0x8000, 0x7fff),
  INT32: integer(-0x80000000, 0x7fffffff),
  INT64: bigInteger(-(2 ** 63), 2 ** 63),
  FP16: (value) => {
    if (typeof value !== 'number' || !Number.isFinite(value)) return undefined;
    const bits = toHalfBits(value);
    return (bits & 0x7c00) === 0x7c00 ? undefined : bits;
  },
  FP32: (value) =>
    typeof value === 'number' && Number.isFinite(Math.fround(value)) && Number.isFinite(value)
      ? value
      : undefined,
  FP64: (value) => (typeof value === 'number' && Number.isFinite(value) ? value : undefined),
  BYTES: (value) => (typeof value === 'string' ? value : undefined),
};

const expectation: Record<TensorDatatype, string> = {
  BOOL: 'true or false',
  UINT8: 'an integer in [0, 255]',
  UINT16: 'an integer in [0, 65535]',
  UINT32: 'an integer in [0, 4294967295]',
  UINT64: 'an integer in [0, 2^64)',
  INT8: 'an integer in [-128, 127]',
  INT16: 'an integer in [-32768, 32767]',
  INT32: 'an integer in [-2147483648, 2147483647]',
  INT64: 'an integer in [-2^63, 2^63)',
  FP16: 'a finite number within FP16 range (|x| <= 65504)',
  FP32: 'a finite number within FP32 range',
  FP64: 'a finite number',
  BYTES: 'a string',
};

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (value === null) return 'null';
  if (typeof value === 'object') return Array.isArray(value) ? 'an array' : 'an object';
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return typeof value;
}

/** Writes converted elements into `target`, counting them; knows nothing of nesting. */
class Filler {
  index = 0;
  constructor(
    readonly name: string,
    readonly datatype: TensorDatatype,
    readonly target: TensorData,
    readonly count: number,
  ) {}

  put(value: unknown): void {
    if (this.index >= this.count) {
      throw new BerthError(
        'BAD_INPUT',
        `input "${this.name}" has more values than its shape holds (${this.count})`,
      );
    }
    const converted = converters[this.datatype](value);
    if (converted === undefined) {
      throw new BerthError(
        'BAD_INPUT',
        `input "${this.name}": element ${this.index} is ${describe(value)}, expected ${expectation[this.datatype]} for ${this.datatype}`,
      );
    }
    (this.target as unknown as (number | bigint | string)[])[this.index++] = converted;
  }
}

function walk(node: unknown[], depth: number, dims: readonly number[] | undefined, filler: Filler): void {
  if (dims !== undefined && node.length !== dims[depth]) {
    throw new BerthError(
      'BAD_INPUT',
      `input "${filler.name}" is ragged: an array at depth ${depth} has ${node.length} items, expected ${dims[depth]}`,
    );
  }
  for (const item of node) {
    if (Array.isArray(item)) {
      if (depth + 1 >= MAX_JSON_RANK || (dims !== undefined && depth + 1 >= dims.length)) {
        throw new BerthError('BAD_INPUT', `input "${filler.name}" is nested deeper than its shape`);
      }
      walk(item, depth + 1, dims, filler);
    } else {
      if (dims !== undefined && depth !== dims.length - 1) {
        throw new BerthError(
          'BAD_INPUT',
          `input "${filler.name}" is ragged: a value sits where an array was expected`,
        );
      }
      filler.put(item);
    }
  }
}

/**
 * Reads a span's numbers into `target` as the datatype's converter would take JSON.parse's values;
 * false at the first number the converter refuses (the ordinary path then names it), and false at
 * once when the datatype needs most numbers exactly and most of them can only be read exactly from
 * their text: JSON.parse of the whole span is then quicker than one Number() per element.
 */
function fillFromSpan(span: NumberArraySpan, datatype: TensorDatatype, target: TensorData): boolean {
  const count = span.count;
  if (datatype !== 'FP32' && datatype !== 'FP16' && span.inexact * 8 > count) return false;
  switch (datatype) {
    case 'FP32': {
      const floats = target as Float32Array;
      for (let i = 0; i < count; i++) {
        const v = span.float32(i);
        if (v - v !== 0) return false;
        floats[i] = v;
      }
      return true;
    }
    case 'FP16': {
      // toHalfBits rounds through FP32 first, so the FP32 reading gives the same bits.
      const halves = target as Uint16Array;
      for (let i = 0; i < count; i++) {
        const v = span.float32(i);
        if (v - v !== 0) return false;
        const bits = toHalfBits(v);
        if ((bits & 0x7c00) === 0x7c00) return false;
        halves[i] = bits;
      }
      return true;
    }
    case 'FP64': {
      const doubles = target as Float64Array;
      for (let i = 0; i < count; i++) {
        const v = span.number(i);
        if (v - v !== 0) return false;
        doubles[i] = v;
      }
      return true;
    }
    default: {
      const convert = converters[datatype];
      const values = target as unknown as (number | bigint | string)[];
      for (let i = 0; i < count; i++) {
        const converted = convert(span.number(i));
        if (converted === undefined) return false;
        values[i] = converted;
      }
      return true;
    }
  }
}

/**
 * A span's tensor data when it passes every check of the array path below (count, flat or nested
 * from its first item, depth, each value), else undefined.
 */
function spanTensorData(
  datatype: TensorDatatype,
  count: number,
  span: NumberArraySpan,
): TensorData | undefined {
  if (span.count !== count) return undefined;
  if (span.depth > 0 && !(span.firstIsArray && span.depth < MAX_JSON_RANK)) return undefined;
  const target = allocateTensorData(datatype, count);
  return fillFromSpan(span, datatype, target) ? target : undefined;
}

/**
 * Converts `data` (flat, or nested in row-major order) into a typed array of `datatype` holding
 * exactly as many elements as `shape` says.
 */
export function jsonToTensorData(
  name: string,
  datatype: TensorDatatype,
  shape: readonly number[],
  data: unknown,
): TensorData {
  if (data instanceof NumberArraySpan) {
    const read = spanTensorData(datatype, elementCount(shape), data);
    if (read !== undefined) return read;
    data = data.materialize();
  }
  if (!Array.isArray(data)) throw new BerthError('BAD_INPUT', `input "${name}": data must be an array`);
  const count = elementCount(shape);
  const flat = data.length === 0 || !Array.isArray(data[0]);
  // Checked before allocating: the shape is the client's number, the values are what it sent.
  const values = flat ? data.length : nestedValueCount(name, data);
  if (values !== count) {
    if (flat && data.some((item) => Array.isArray(item))) throw mixedError(name);
    throw countMismatch(name, values, shape, count);
  }
  const filler = new Filler(name, datatype, allocateTensorData(datatype, count), count);
  if (flat) {
    for (const item of data) {
      if (Array.isArray(item)) throw mixedError(name);
      filler.put(item);
    }
  } else {
    walk(data, 0, undefined, filler);
  }
  if (filler.index !== count) throw countMismatch(name, filler.index, shape, count);
  return filler.target;
}

function mixedError(name: string): BerthError {
  return new BerthError('BAD_INPUT', `input "${name}": mixes arrays and values`);
}

/** The shape that a nested array spells out: the length at each level, following first items. */
export function inferJsonShape(name: string, data: unknown): number[] {
  const shape: number[] = [];
  let node = data;
  while (Array.isArray(node)) {
    if (shape.length >= MAX_JSON_RANK)
      throw new BerthError('BAD_INPUT', `input "${name}" is nested too deep`);
    shape.push(node.length);
    if (node.length === 0) break;
    node = node[0];
  }
  return shape;
}

/** Converts a nested array whose shape was taken by inferJsonShape, checking it is rectangular. */
export function nestedJsonToTensor(name: string, datatype: TensorDatatype, data: unknown): TensorValue {
  if (data instanceof NumberArraySpan) {
    const shape = data.shape;
    if (shape !== undefined && shape.length <= MAX_JSON_RANK) {
      const target = allocateTensorData(datatype, data.count);
      if (fillFromSpan(data, datatype, target)) return { datatype, shape: [...shape], data: target };
    }
    data = data.materialize();
  }
  const shape = inferJsonShape(name, data);
  const count = elementCount(shape);
  // The shape comes from the first items alone; a ragged array can spell one far larger than
  // the values it holds ([[1,1],1] nested 31 deep spells 2^31), so it is checked before allocating.
  const values = shape.length === 0 ? 1 : nestedValueCount(name, data as unknown[]);
  if (values !== count) {
    throw new BerthError(
      'BAD_INPUT',
      `input "${name}" is ragged: its first items spell shape ${formatDims(shape)} (${count} values) but it holds ${values}`,
    );
  }
  const filler = new Filler(name, datatype, allocateTensorData(datatype, count), count);
  if (shape.length === 0) filler.put(data);
  else walk(data as unknown[], 0, shape, filler);
  return { datatype, shape, data: filler.target };
}

function hasNonFinite(data: Float32Array | Float64Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const v = data[i]!;
    if (v - v !== 0) return true;
  }
  return false;
}

/** Comma-separated JSON text of elements [start, end). Non-finite floats become null (JSON has no NaN). */
export function elementsText(datatype: TensorDatatype, data: TensorData, start: number, end: number): string {
  switch (datatype) {
    case 'BYTES': {
      let text = '';
      for (let i = start; i < end; i++)
        text += (i > start ? ',' : '') + JSON.stringify((data as string[])[i]);
      return text;
    }
    case 'BOOL': {
      let text = '';
      for (let i = start; i < end; i++)
        text += (i > start ? ',' : '') + ((data as Uint8Array)[i] ? 'true' : 'false');
      return text;
    }
    case 'FP16': {
      let text = '';
      for (let i = start; i < end; i++) {
        const v = fromHalfBits((data as Uint16Array)[i]!);
        text += (i > start ? ',' : '') + (Number.isFinite(v) ? String(v) : 'null');
      }
      return text;
    }
    case 'FP32':
    case 'FP64': {
      const floats = data as Float32Array | Float64Array;
      const slice = start === 0 && end === floats.length ? floats : floats.subarray(start, end);
      if (!hasNonFinite(floats, start, end)) return slice.join(',');
      return Array.from(slice, (v) => (Number.isFinite(v) ? String(v) : 'null')).join(',');
    }
    default: {
      const ints = data as Exclude<TensorData, string[]>;
      return (start === 0 && end === ints.length ? ints : ints.subarray(start, end)).join(',');
    }
  }
}

/** JSON text of a tensor's data as one flat array. */
export function flatJsonText(value: TensorValue): string {
  return `[${elementsText(value.datatype, value.data, 0, value.data.length)}]`;
}

/** JSON text of a tensor's data nested by its shape (a scalar is the bare value). */
export function nestedJsonText(value: TensorValue): string {
  const { shape } = value;
  if (shape.length === 0) return elementsText(value.datatype, value.data, 0, 1);
  return nestLevel(value, 0, 0);
}

function nestLevel(value: TensorValue, depth: number, offset: number): string {
  const dim = value.shape[depth]!;
  if (depth === value.shape.length - 1)
    return `[${elementsText(value.datatype, value.data, offset, offset + dim)}]`;
  let stride = 1;
  for (let d = depth + 1; d < value.shape.length; d++) stride *= value.shape[d]!;
  let text = '[';
  for (let i = 0; i < dim; i++) text += (i > 0 ? ',' : '') + nestLevel(value, depth + 1, offset + i * stride);
  return `${text}]`;
}
