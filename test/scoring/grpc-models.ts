/**
 * The models the gRPC tests serve: the linear fixture, and an identity model with one input per
 * datatype the tests send (output `<name>_out`, same type and shape).
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TensorSpec } from '../../src/core/tensor.js';
import type { ModelToServe } from '../../src/scoring/engine.js';
import { buildIdentityModel, buildLinearModel, writeModel } from '../fixtures/onnx-builder.js';

export const identitySpecs: TensorSpec[] = [
  { name: 'f32', datatype: 'FP32', shape: ['n'] },
  { name: 'f64', datatype: 'FP64', shape: ['n'] },
  { name: 'i8', datatype: 'INT8', shape: ['n'] },
  { name: 'i64', datatype: 'INT64', shape: ['n'] },
  { name: 'u64', datatype: 'UINT64', shape: ['n'] },
  { name: 'b', datatype: 'BOOL', shape: ['n'] },
  { name: 's', datatype: 'BYTES', shape: ['n'] },
];

/** FP16 has no typed contents field, so it lives in a model of its own that is always fed raw. */
export const halfSpecs: TensorSpec[] = [{ name: 'f16', datatype: 'FP16', shape: ['n'] }];

export async function writeTestModels(): Promise<{ dir: string; models: ModelToServe[] }> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-grpc-'));
  const linearFile = writeModel(join(dir, 'linear'), 'model.onnx', buildLinearModel());
  const identity = (name: string, specs: TensorSpec[]): ModelToServe => ({
    name,
    version: '1',
    framework: 'onnx',
    modelDir: join(dir, name),
    modelFile: writeModel(join(dir, name), 'model.onnx', buildIdentityModel(specs)),
    signature: {
      inputs: specs,
      outputs: specs.map((spec) => ({ ...spec, name: `${spec.name}_out` })),
      opset: 13,
      producer: 'berth',
    },
  });
  const models: ModelToServe[] = [
    {
      name: 'linear',
      version: '1',
      framework: 'onnx',
      modelDir: join(dir, 'linear'),
      modelFile: linearFile,
      signature: {
        inputs: [{ name: 'x', datatype: 'FP32', shape: ['batch', 3] }],
        outputs: [{ name: 'y', datatype: 'FP32', shape: ['batch', 1] }],
        opset: 13,
        producer: 'berth',
      },
    },
    identity('identity', identitySpecs),
    identity('half', halfSpecs),
  ];
  return { dir, models };
}
