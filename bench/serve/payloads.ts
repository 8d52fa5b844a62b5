/**
 * One request body per protocol, all carrying the same single item, built once and replayed: the
 * load generator then spends its time sending, not encoding.
 */
import { itemSize, sampleData, type BenchModel } from './models.js';

export interface HttpPayload {
  path: string;
  body: Buffer;
  headers: Record<string, string>;
}

export interface Payloads {
  /** Open Inference Protocol v2 JSON: flat `data`, shape given. */
  v2Json: HttpPayload;
  /** Azure-ML-style `/score`: `{"data": nested arrays}`. */
  scoreJson: HttpPayload;
  /** v2 binary tensor extension: JSON header, then the raw little-endian floats. */
  v2Binary: HttpPayload;
  /** The gRPC ModelInfer request with raw_input_contents. */
  grpc: Record<string, unknown>;
}

export function buildPayloads(model: BenchModel): Payloads {
  const data = sampleData(itemSize(model));
  const shape = [1, ...model.itemShape];
  const json = { 'content-type': 'application/json' };
  const v2Json = JSON.stringify({
    inputs: [{ name: model.input, shape, datatype: 'FP32', data: Array.from(data) }],
  });
  const scoreJson = JSON.stringify({ data: nest(Array.from(data), shape) });
  const header = Buffer.from(
    JSON.stringify({
      inputs: [
        { name: model.input, shape, datatype: 'FP32', parameters: { binary_data_size: data.byteLength } },
      ],
    }),
  );
  const raw = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return {
    v2Json: { path: `/v2/models/${model.name}/infer`, body: Buffer.from(v2Json), headers: json },
    scoreJson: { path: `/score`, body: Buffer.from(scoreJson), headers: json },
    v2Binary: {
      path: `/v2/models/${model.name}/infer`,
      body: Buffer.concat([header, raw]),
      headers: {
        'content-type': 'application/octet-stream',
        'inference-header-content-length': String(header.byteLength),
      },
    },
    grpc: {
      model_name: model.name,
      inputs: [{ name: model.input, datatype: 'FP32', shape }],
      raw_input_contents: [raw],
    },
  };
}

function nest(flat: number[], shape: number[]): unknown {
  const [size, ...rest] = shape;
  if (size === undefined) return flat[0];
  if (rest.length === 0) return flat;
  const stride = rest.reduce((a, b) => a * b, 1);
  return Array.from({ length: size }, (_, i) => nest(flat.slice(i * stride, (i + 1) * stride), rest));
}
