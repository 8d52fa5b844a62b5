// Writes a linear model y = x . W + b as ONNX bytes (one Gemm node), with no onnx package: the
// handful of ModelProto, GraphProto, NodeProto, TensorProto and ValueInfoProto fields ONNX Runtime
// needs, encoded by hand (the same encoding as ../linear/src/onnx_linear.py).

import { Buffer } from 'node:buffer';

/** A dimension: a fixed size, or a name for a size known only at run time (the batch). */
type Dimension = number | string;

function varint(value: number): Buffer {
  const out: number[] = [];
  for (;;) {
    const byte = value & 0x7f;
    value = Math.floor(value / 128);
    if (value === 0) return Buffer.from([...out, byte]);
    out.push(byte | 0x80);
  }
}

/** A length-delimited field: a string, bytes or a message. */
function field(number: number, payload: string | Buffer): Buffer {
  const bytes = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  return Buffer.concat([varint((number << 3) | 2), varint(bytes.length), bytes]);
}

function intField(number: number, value: number): Buffer {
  return Buffer.concat([varint(number << 3), varint(value)]);
}

const FLOAT = 1;

function tensorType(dims: readonly Dimension[]): Buffer {
  const shape = Buffer.concat(
    dims.map((d) => field(1, typeof d === 'string' ? field(2, d) : intField(1, d))),
  );
  return field(1, Buffer.concat([intField(1, FLOAT), field(2, shape)]));
}

function valueInfo(name: string, dims: readonly Dimension[]): Buffer {
  return Buffer.concat([field(1, name), field(2, tensorType(dims))]);
}

function initializer(name: string, dims: readonly number[], values: readonly number[]): Buffer {
  const raw = Buffer.alloc(values.length * 4);
  values.forEach((value, i) => raw.writeFloatLE(value, i * 4));
  return Buffer.concat([
    ...dims.map((d) => intField(1, d)),
    intField(2, FLOAT),
    field(8, name),
    field(9, raw),
  ]);
}

/** The bytes of an ONNX model: input `x` [batch, weights.length] -> output `y` [batch, 1]. */
export function linearOnnx(weights: readonly number[], bias: number): Buffer {
  const n = weights.length;
  const node = Buffer.concat([field(1, 'x'), field(1, 'W'), field(1, 'b'), field(2, 'y'), field(4, 'Gemm')]);
  const graph = Buffer.concat([
    field(1, node),
    field(2, 'linear'),
    field(5, initializer('W', [n, 1], weights)),
    field(5, initializer('b', [1], [bias])),
    field(11, valueInfo('x', ['batch', n])),
    field(12, valueInfo('y', ['batch', 1])),
  ]);
  const opset = Buffer.concat([field(1, ''), intField(2, 13)]);
  return Buffer.concat([intField(1, 8), field(2, 'berth-example'), field(7, graph), field(8, opset)]);
}
