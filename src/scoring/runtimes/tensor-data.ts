/**
 * The typed-array class behind each datatype, and small helpers over tensor contents. Both the
 * engine (validation, batching) and the runtimes (warm-up, ONNX conversion) read this one table.
 */
import type { TensorDatatype } from '../../core/tensor.js';
import type { TensorData } from '../engine.js';

export type NumericArrayConstructor =
  | Float32ArrayConstructor
  | Float64ArrayConstructor
  | Int8ArrayConstructor
  | Int16ArrayConstructor
  | Int32ArrayConstructor
  | BigInt64ArrayConstructor
  | Uint8ArrayConstructor
  | Uint16ArrayConstructor
  | Uint32ArrayConstructor
  | BigUint64ArrayConstructor;

/** BOOL travels as Uint8 (0/1) and FP16 as raw Uint16 bits, as engine.ts documents. */
export const arrayClassOf: Record<Exclude<TensorDatatype, 'BYTES'>, NumericArrayConstructor> = {
  BOOL: Uint8Array,
  UINT8: Uint8Array,
  UINT16: Uint16Array,
  UINT32: Uint32Array,
  UINT64: BigUint64Array,
  INT8: Int8Array,
  INT16: Int16Array,
  INT32: Int32Array,
  INT64: BigInt64Array,
  FP16: Uint16Array,
  FP32: Float32Array,
  FP64: Float64Array,
};

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((product, dim) => product * dim, 1);
}

/** A tensor of zeros (empty strings for BYTES), for warm-up runs. */
export function zeros(datatype: TensorDatatype, shape: readonly number[]): TensorData {
  const count = elementCount(shape);
  if (datatype === 'BYTES') return Array.from({ length: count }, () => '');
  return new arrayClassOf[datatype](count);
}

/** Name of the class a datatype's data must be, for error messages. */
export function expectedDataClass(datatype: TensorDatatype): string {
  return datatype === 'BYTES' ? 'string[]' : arrayClassOf[datatype].name;
}

/** True when `data` is the container `datatype` requires (a Buffer counts as a Uint8Array). */
export function dataMatchesDatatype(datatype: TensorDatatype, data: TensorData): boolean {
  if (datatype === 'BYTES') return Array.isArray(data);
  return data instanceof arrayClassOf[datatype];
}

export function describeData(data: unknown): string {
  if (Array.isArray(data)) return 'an array';
  if (ArrayBuffer.isView(data)) return data.constructor.name;
  return typeof data;
}
