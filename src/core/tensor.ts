/**
 * Tensor datatypes as the Open Inference Protocol v2 names them, and their ONNX Runtime twins.
 * Every type ONNX can express over the wire is here; the table is the one place that maps them.
 */

export const tensorDatatypes = [
  'BOOL',
  'UINT8',
  'UINT16',
  'UINT32',
  'UINT64',
  'INT8',
  'INT16',
  'INT32',
  'INT64',
  'FP16',
  'FP32',
  'FP64',
  'BYTES',
] as const;

export type TensorDatatype = (typeof tensorDatatypes)[number];

/** onnxruntime-node's tensor type strings. */
export type OnnxTensorType =
  | 'bool'
  | 'uint8'
  | 'uint16'
  | 'uint32'
  | 'uint64'
  | 'int8'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'float16'
  | 'float32'
  | 'float64'
  | 'string';

interface DatatypeInfo {
  onnx: OnnxTensorType;
  /** Bytes per element in the binary wire format; 0 for BYTES (length-prefixed). */
  bytes: number;
}

export const datatypeInfo: Record<TensorDatatype, DatatypeInfo> = {
  BOOL: { onnx: 'bool', bytes: 1 },
  UINT8: { onnx: 'uint8', bytes: 1 },
  UINT16: { onnx: 'uint16', bytes: 2 },
  UINT32: { onnx: 'uint32', bytes: 4 },
  UINT64: { onnx: 'uint64', bytes: 8 },
  INT8: { onnx: 'int8', bytes: 1 },
  INT16: { onnx: 'int16', bytes: 2 },
  INT32: { onnx: 'int32', bytes: 4 },
  INT64: { onnx: 'int64', bytes: 8 },
  FP16: { onnx: 'float16', bytes: 2 },
  FP32: { onnx: 'float32', bytes: 4 },
  FP64: { onnx: 'float64', bytes: 8 },
  BYTES: { onnx: 'string', bytes: 0 },
};

export function datatypeFromOnnx(type: string): TensorDatatype | undefined {
  for (const datatype of tensorDatatypes) if (datatypeInfo[datatype].onnx === type) return datatype;
  return undefined;
}

/** A dimension is a fixed size, or a named/unnamed dynamic one (`-1` on the wire). */
export type Dimension = number | string;

export interface TensorSpec {
  name: string;
  datatype: TensorDatatype;
  /** Fixed sizes as numbers; dynamic dimensions by their symbolic name (or '?' when unnamed). */
  shape: Dimension[];
}

export interface ModelSignature {
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  /** The default-domain opset the model imports; undefined when unknown. */
  opset: number | undefined;
  producer: string | undefined;
}

/** True when the first dimension of every input and output is dynamic: the model batches. */
export function hasDynamicBatchDimension(signature: ModelSignature): boolean {
  const all = [...signature.inputs, ...signature.outputs];
  return all.length > 0 && all.every((spec) => spec.shape.length > 0 && typeof spec.shape[0] === 'string');
}
