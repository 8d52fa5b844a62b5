/**
 * Shared set-up for the engine tests: temp folders, fixture models as `ModelToServe`, and engine
 * options with small, fast defaults.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ModelSignature } from '../../src/core/tensor.js';
import type { EngineOptions, ModelToServe, TensorValue } from '../../src/scoring/engine.js';
import { buildIdentityModel, buildLinearModel, buildMlpModel, writeModel } from '../fixtures/onnx-builder.js';

export function tempDir(prefix: string): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), `berth-${prefix}-`));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export const linearSignature: ModelSignature = {
  inputs: [{ name: 'x', datatype: 'FP32', shape: ['batch', 3] }],
  outputs: [{ name: 'y', datatype: 'FP32', shape: ['batch', 1] }],
  opset: 13,
  producer: 'berth',
};

export function linearModel(dir: string, version = '1'): ModelToServe {
  const modelDir = join(dir, `linear-${version}`);
  return {
    name: 'linear',
    version,
    framework: 'onnx',
    modelDir,
    modelFile: writeModel(modelDir, 'model.onnx', buildLinearModel()),
    signature: linearSignature,
  };
}

/** The MLP with no signature given: the engine reads it from the session. */
export function mlpModel(dir: string): ModelToServe {
  const modelDir = join(dir, 'mlp');
  return {
    name: 'mlp',
    version: '1',
    framework: 'onnx',
    modelDir,
    modelFile: writeModel(modelDir, 'mlp.onnx', buildMlpModel()),
    signature: null,
  };
}

export function options(models: ModelToServe[], overrides: Partial<EngineOptions> = {}): EngineOptions {
  return {
    models,
    scoringScript: undefined,
    workers: 1,
    onnx: {
      intraOpThreads: 1,
      interOpThreads: 1,
      graphOptimizationLevel: 'all',
      executionProviders: ['cpu'],
    },
    batching: { enabled: false, maxBatchSize: 16, maxQueueDelayMs: 5 },
    workerMaxOldGenerationMb: 256,
    memoryLimitBytes: 8 * 1024 ** 3,
    workerStartTimeoutMs: 60_000,
    execution: { inline: 'auto', inlineMaxRunMs: 0.1 },
    ...overrides,
  };
}

export function fp32(shape: number[], values: number[]): TensorValue {
  return { datatype: 'FP32', shape, data: new Float32Array(values) };
}

/** Writes a scoring script (and any sibling files) into `dir`; returns the script's path. */
export function writeScript(
  dir: string,
  fileName: string,
  source: string,
  siblings: Record<string, string> = {},
): string {
  for (const [name, text] of Object.entries(siblings)) writeFileSync(join(dir, name), text);
  const path = join(dir, fileName);
  writeFileSync(path, source);
  return path;
}

export function values(tensor: TensorValue | undefined): number[] {
  if (tensor === undefined) throw new Error('missing tensor');
  return Array.from(tensor.data as Float32Array);
}

/** An Identity model over the datatypes JSON cannot carry plainly: INT64, BOOL, BYTES and FP16. */
export function identityModel(dir: string): ModelToServe {
  const modelDir = join(dir, 'identity');
  return {
    name: 'identity',
    version: '1',
    framework: 'onnx',
    modelDir,
    modelFile: writeModel(
      modelDir,
      'identity.onnx',
      buildIdentityModel([
        { name: 'i64', datatype: 'INT64', shape: ['batch', 2] },
        { name: 'flag', datatype: 'BOOL', shape: ['batch'] },
        { name: 'text', datatype: 'BYTES', shape: ['batch'] },
        { name: 'half', datatype: 'FP16', shape: ['batch'] },
      ]),
    ),
    signature: null,
  };
}
