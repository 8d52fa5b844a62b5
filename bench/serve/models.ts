/**
 * The two benchmark models: the real PP-OCR text-direction classifier (a dev dependency), fed
 * 3x48x192 float32 images, and the tiny linear fixture model, whose compute is next to nothing,
 * so its numbers measure the serving path alone.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import ort from 'onnxruntime-node';
import { datatypeFromOnnx, type ModelSignature, type TensorSpec } from '../../src/core/tensor.js';
import type { ModelToServe } from '../../src/scoring/engine.js';
import { buildLinearModel, writeModel } from '../../test/fixtures/onnx-builder.js';
import { ppocrClassifierPath } from '../../test/fixtures/paths.js';

export interface BenchModel {
  name: string;
  file: string;
  input: string;
  /** One item's shape, without the batch dimension. */
  itemShape: number[];
  signature: ModelSignature;
}

export async function prepareModels(): Promise<{ ocr: BenchModel; tiny: BenchModel }> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-bench-'));
  const tinyFile = writeModel(dir, 'linear.onnx', buildLinearModel());
  return {
    ocr: await describe('ocr-cls', ppocrClassifierPath, [3, 48, 192]),
    tiny: await describe('linear', tinyFile, [3]),
  };
}

/** Reads the signature from the model itself, as registration does. */
async function describe(name: string, file: string, itemShape: number[]): Promise<BenchModel> {
  const session = await ort.InferenceSession.create(file);
  const spec = (meta: ort.InferenceSession.ValueMetadata): TensorSpec => {
    if (!meta.isTensor) throw new Error(`${name}: ${meta.name} is not a tensor`);
    const datatype = datatypeFromOnnx(meta.type);
    if (datatype === undefined) throw new Error(`${name}: unsupported type ${meta.type}`);
    return {
      name: meta.name,
      datatype,
      shape: meta.shape.map((dim) => (typeof dim === 'number' ? dim : dim || '?')),
    };
  };
  const signature: ModelSignature = {
    inputs: session.inputMetadata.map(spec),
    outputs: session.outputMetadata.map(spec),
    opset: undefined,
    producer: undefined,
  };
  await session.release();
  return { name, file, input: signature.inputs[0]!.name, itemShape, signature };
}

export function toServe(model: BenchModel): ModelToServe {
  return {
    name: model.name,
    version: '1',
    framework: 'onnx',
    modelDir: dirname(model.file),
    modelFile: model.file,
    signature: model.signature,
  };
}

/** Deterministic pixel-like values in [0, 1), the same on every run. */
export function sampleData(count: number): Float32Array {
  const data = new Float32Array(count);
  let state = 12345;
  for (let i = 0; i < count; i++) {
    state = (state * 1103515245 + 12345) >>> 0;
    data[i] = (state >>> 8) / 16777216;
  }
  return data;
}

export function itemSize(model: Pick<BenchModel, 'itemShape'>): number {
  return model.itemShape.reduce((a, b) => a * b, 1);
}
