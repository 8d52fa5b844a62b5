/**
 * Reads NumPy `.npy` files (format 1.0-3.0, C order) and berth's JSON tensor files, the two item
 * formats the built-in ONNX batch scoring takes. Only numeric dtypes; values come back as plain
 * numbers because the caller converts them to the model's input type anyway.
 */
import { BerthError } from '../../core/errors.js';

export interface NumericTensor {
  shape: number[];
  data: ArrayLike<number>;
}

const readers: Record<string, (view: DataView, offset: number) => number> = {
  f4: (view, offset) => view.getFloat32(offset, true),
  f8: (view, offset) => view.getFloat64(offset, true),
  i1: (view, offset) => view.getInt8(offset),
  u1: (view, offset) => view.getUint8(offset),
  b1: (view, offset) => view.getUint8(offset),
  i2: (view, offset) => view.getInt16(offset, true),
  u2: (view, offset) => view.getUint16(offset, true),
  i4: (view, offset) => view.getInt32(offset, true),
  u4: (view, offset) => view.getUint32(offset, true),
  i8: (view, offset) => Number(view.getBigInt64(offset, true)),
};

/** Little-endian dtypes a typed array reads as they are (this machine is little-endian, as Node's targets are). */
const directArrays: Record<
  string,
  (buffer: ArrayBuffer, byteOffset: number, length: number) => ArrayLike<number>
> = {
  f4: (buffer, byteOffset, length) => new Float32Array(buffer, byteOffset, length),
  f8: (buffer, byteOffset, length) => new Float64Array(buffer, byteOffset, length),
  i1: (buffer, byteOffset, length) => new Int8Array(buffer, byteOffset, length),
  u1: (buffer, byteOffset, length) => new Uint8Array(buffer, byteOffset, length),
  i2: (buffer, byteOffset, length) => new Int16Array(buffer, byteOffset, length),
  u2: (buffer, byteOffset, length) => new Uint16Array(buffer, byteOffset, length),
  i4: (buffer, byteOffset, length) => new Int32Array(buffer, byteOffset, length),
  u4: (buffer, byteOffset, length) => new Uint32Array(buffer, byteOffset, length),
};

export function parseNpy(bytes: Uint8Array): NumericTensor {
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
  if (bytes.length < 10 || !magic.every((byte, i) => bytes[i] === byte))
    throw new BerthError('BAD_INPUT', 'not a .npy file');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const major = bytes[6] ?? 1;
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const headerStart = major === 1 ? 10 : 12;
  const header = Buffer.from(bytes.subarray(headerStart, headerStart + headerLength)).toString('latin1');
  const descr = /'descr':\s*'([<>|=])([a-z])(\d+)'/.exec(header);
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1] === 'True';
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || shapeText === undefined)
    throw new BerthError('BAD_INPUT', `.npy header not understood: ${header.trim()}`);
  if (descr[1] === '>') throw new BerthError('BAD_INPUT', '.npy big-endian data is not supported');
  if (fortran) throw new BerthError('BAD_INPUT', '.npy in Fortran order is not supported; save with C order');
  const type = `${descr[2]}${descr[3]}`;
  const read = readers[type];
  if (read === undefined)
    throw new BerthError('BAD_INPUT', `.npy dtype ${descr[0]} is not supported (numeric dtypes only)`);
  const shape = shapeText
    .split(',')
    .map((dim) => dim.trim())
    .filter((dim) => dim !== '')
    .map(Number);
  const count = shape.reduce((product, dim) => product * dim, 1);
  const size = Number(descr[3]);
  const dataStart = headerStart + headerLength;
  if (bytes.length < dataStart + count * size)
    throw new BerthError('BAD_INPUT', '.npy file is shorter than its shape says');
  const direct = directArrays[type];
  if (direct !== undefined) {
    // A typed view, no per-element reads. The data of a file read into its own buffer starts
    // aligned (writers pad the header to 64 bytes), so it is viewed where it lies; otherwise one
    // copy into a fresh, hence aligned, buffer.
    const start = bytes.byteOffset + dataStart;
    if (start % size === 0) return { shape, data: direct(bytes.buffer as ArrayBuffer, start, count) };
    const copy = new Uint8Array(bytes.subarray(dataStart, dataStart + count * size));
    return { shape, data: direct(copy.buffer, 0, count) };
  }
  const data = new Float64Array(count);
  for (let i = 0; i < count; i += 1) data[i] = read(view, dataStart + i * size);
  return { shape, data };
}

/** `{"shape": [3, 48, 192], "data": [...]}` (flat data) or a nested array whose nesting gives the shape. */
export function parseJsonTensor(text: string): NumericTensor {
  const value: unknown = JSON.parse(text);
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const { shape, data } = value as { shape?: unknown; data?: unknown };
    if (!Array.isArray(shape) || !Array.isArray(data))
      throw new BerthError('BAD_INPUT', 'a JSON tensor needs "shape" and "data" arrays');
    const flat = data.flat(Infinity) as unknown[];
    return { shape: shape.map(Number), data: checkNumbers(flat) };
  }
  if (!Array.isArray(value))
    throw new BerthError('BAD_INPUT', 'a JSON tensor is an object with shape and data, or a nested array');
  const shape: number[] = [];
  for (let level: unknown = value; Array.isArray(level); level = level[0]) shape.push(level.length);
  const flat = value.flat(Infinity) as unknown[];
  if (flat.length !== shape.reduce((product, dim) => product * dim, 1))
    throw new BerthError('BAD_INPUT', 'nested arrays are ragged');
  return { shape, data: checkNumbers(flat) };
}

function checkNumbers(values: unknown[]): number[] {
  for (const value of values)
    if (typeof value !== 'number')
      throw new BerthError('BAD_INPUT', `tensor value ${JSON.stringify(value)} is not a number`);
  return values as number[];
}
